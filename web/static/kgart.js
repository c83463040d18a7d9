// Every page: an artwork image that cannot be fetched gives way to its placeholder
// (the element after it with class "placeholder"), since the CSP allows no inline handlers.
(function () {
  "use strict";
  function fallBack(image) {
    image.classList.add("hidden");
    var next = image.nextElementSibling;
    if (next && next.classList.contains("placeholder")) { next.classList.remove("hidden"); }
  }
  Array.prototype.forEach.call(document.querySelectorAll("img.artwork-image, img.card-image"), function (image) {
    image.addEventListener("error", function () { fallBack(image); });
    if (image.complete && image.naturalWidth === 0) { fallBack(image); }
  });
}());
