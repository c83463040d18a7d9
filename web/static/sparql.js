// The SPARQL page: YASGUI (installed by `make assets`, served from /static/vendor/yasgui/) against
// this server's /sparql, the examples one click away, and IRIs in the results linked to their
// pages on this server. Without the editor's assets the plain form below it still works.
(function () {
  "use strict";
  var host = document.getElementById("yasgui");
  var plain = document.getElementById("plain-editor");
  var prefixes = JSON.parse(host.dataset.prefixes || "{}");

  function withPrefixes(query) {
    // The server predeclares kgart's prefixes; the editor checks syntax, so it is told them too.
    var lines = Object.keys(prefixes).filter(function (name) {
      return new RegExp("(^|[^\\w])" + name + ":").test(query) && !new RegExp("PREFIX\\s+" + name + ":", "i").test(query);
    }).map(function (name) { return "PREFIX " + name + ": <" + prefixes[name] + ">"; });
    return (lines.length ? lines.join("\n") + "\n" : "") + query;
  }

  function localPath(iri) {
    if (iri.indexOf("http://iconclass.org/") === 0) { return "/iconclass/" + iri.slice(21); }
    if (iri.indexOf("https://w3id.org/kgart/") === 0) { return "/" + iri.slice(23); }
    return "/resource?iri=" + encodeURIComponent(iri);
  }

  function linkHere(root) {
    Array.prototype.forEach.call(root.querySelectorAll("a[href^='http']"), function (a) {
      if (a.dataset.kgart) { return; }
      var iri = a.getAttribute("href");
      if (!a.closest(".yasr_results, .yasr .dataTable, table")) { return; }
      a.dataset.kgart = "1";
      a.setAttribute("href", localPath(iri));
      a.removeAttribute("target");
      a.title = iri;
    });
  }

  function label(root, selector, text) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), function (element) {
      if (!element.getAttribute("aria-label")) { element.setAttribute("aria-label", text); }
    });
  }

  function accessible(root) {
    // YASGUI's own controls, named for screen readers (checked by axe-core in the browser tests).
    label(root, "input.autocomplete", "SPARQL endpoint");
    label(root, ".CodeMirror textarea", "SPARQL query");
    label(root, "select.tableSizer", "rows per page");
    label(root, ".yasr select", "result view");
    Array.prototype.forEach.call(root.querySelectorAll("[role=tablist]"), function (list) {
      Array.prototype.forEach.call(list.children, function (child) {
        if (child.querySelector("button.addTab")) {  // a tab list holds tabs only: the "+" goes beside it
          list.parentElement.insertBefore(child, list.nextSibling);
          return;
        }
        if (!child.getAttribute("role")) { child.setAttribute("role", "presentation"); }
        var link = child.querySelector("a");
        if (link && !link.getAttribute("role")) { link.setAttribute("role", "tab"); }
      });
    });
  }

  if (!window.Yasgui) {
    Array.prototype.forEach.call(document.querySelectorAll("button.example"), function (button) {
      button.addEventListener("click", function () { document.getElementById("query").value = button.dataset.query; });
    });
    return;
  }
  plain.classList.add("hidden");
  var yasgui = new window.Yasgui(host, {
    requestConfig: { endpoint: host.dataset.endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: "kgart-sparql",
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: host.dataset.endpoint }]; } }
  });
  window.kgartYasgui = yasgui;
  var tab = yasgui.getTab();
  if (!tab.getQuery().trim() || /^\s*PREFIX rdf:[^\n]*\n\s*PREFIX rdfs:[^\n]*\n\s*SELECT \* WHERE \{\s*\?sub \?pred \?obj \.\s*\} LIMIT 10\s*$/.test(tab.getQuery())) {
    tab.setQuery(withPrefixes(document.getElementById("query").value));
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.example"), function (button) {
    button.addEventListener("click", function () {
      var current = yasgui.getTab();
      current.setQuery(withPrefixes(button.dataset.query));
      current.query();
    });
  });
  accessible(host);
  new MutationObserver(function () { linkHere(host); accessible(host); }).observe(host, { childList: true, subtree: true });
}());
