// Keyboard review (kgart/web/review.py): j/k or arrows move through the suggestions,
// a accepts, r rejects, n and p go to the next and previous artwork, / focuses "add a code".
// Without script every button still works as a plain form.
(function () {
  "use strict";
  var list = document.getElementById("suggestions");
  var items = list ? Array.prototype.slice.call(list.querySelectorAll(".suggestion")) : [];
  var selected = Math.min(parseInt((list && list.dataset.selected) || "0", 10) || 0, Math.max(items.length - 1, 0));

  function select(index, focus) {
    if (!items.length) { return; }
    selected = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (item, i) { item.classList.toggle("selected", i === selected); });
    if (focus) { items[selected].focus(); }
  }

  function press(key) {
    var button = items[selected] && items[selected].querySelector('button[data-key="' + key + '"]');
    if (button) { button.click(); }
  }

  function go(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }

  items.forEach(function (item, i) {
    item.addEventListener("focus", function () { select(i, false); });
  });
  select(selected, false);

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) {
      return;
    }
    switch (event.key) {
      case "j": case "ArrowDown": select(selected + 1, true); break;
      case "k": case "ArrowUp": select(selected - 1, true); break;
      case "a": press("accept"); break;
      case "r": press("reject"); break;
      case "n": go("next"); break;
      case "p": go("previous"); break;
      case "/": var code = document.getElementById("code"); if (code) { code.focus(); } break;
      default: return;
    }
    event.preventDefault();
  });

  // Codes by name: Iconclass labels that start with what is typed (GET /api/autocomplete).
  var input = document.getElementById("code");
  var options = document.getElementById("code-options");
  var pending = null;
  if (input && options) {
    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (pending) { clearTimeout(pending); }
      if (text.length < 3) { return; }
      pending = setTimeout(function () {
        fetch("/api/autocomplete?k=8&q=" + encodeURIComponent(text)).then(function (r) {
          return r.ok ? r.json() : { results: [] };
        }).then(function (data) {
          options.textContent = "";
          (data.results || []).forEach(function (hit) {
            var option = document.createElement("option");
            option.value = hit.notation || hit.iri;
            option.label = hit.text;
            options.appendChild(option);
          });
        }).catch(function () { /* no suggestions: typing a notation still works */ });
      }, 150);
    });
  }
}());
