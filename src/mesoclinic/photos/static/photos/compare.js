// The before/after slider: the "after" layer is clipped to the slider's position. The image
// inside keeps the container's full width so the two stay registered.
(function () {
  "use strict";
  function setUp(slider, range) {
    var after = slider.querySelector("[data-compare-after]");
    var inner = after.querySelector("img");
    function size() { inner.style.width = slider.clientWidth + "px"; }
    function move() { after.style.width = range.value + "%"; }
    window.addEventListener("resize", size);
    range.addEventListener("input", move);
    size(); move();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var slider = document.querySelector("[data-testid=compare-slider]");
    var range = document.querySelector("[data-compare-range]");
    if (slider && range) { setUp(slider, range); }
  });
})();
