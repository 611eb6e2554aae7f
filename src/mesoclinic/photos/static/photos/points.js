// Tap-to-place alignment points: a tap on the photo adds its position, in the stored photo's
// own pixels, to the points field ("x,y;x,y"); markers show what is placed.
(function () {
  "use strict";
  function parse(text) {
    return text.split(";").map(function (p) { return p.split(",").map(Number); })
      .filter(function (p) { return p.length === 2 && isFinite(p[0]) && isFinite(p[1]); });
  }
  function setUp(image) {
    var field = document.getElementById(image.dataset.pointsTarget);
    if (!field) { return; }
    var wrap = image.parentElement;
    var width = Number(image.dataset.naturalWidth), height = Number(image.dataset.naturalHeight);
    function draw() {
      wrap.querySelectorAll(".photo-point").forEach(function (m) { m.remove(); });
      parse(field.value).forEach(function (p, i) {
        var mark = document.createElement("span");
        mark.className = "photo-point";
        mark.textContent = String(i + 1);
        mark.style.left = (p[0] / width * 100) + "%";
        mark.style.top = (p[1] / height * 100) + "%";
        wrap.appendChild(mark);
      });
    }
    image.addEventListener("click", function (event) {
      var box = image.getBoundingClientRect();
      var x = Math.round((event.clientX - box.left) / box.width * width * 10) / 10;
      var y = Math.round((event.clientY - box.top) / box.height * height * 10) / 10;
      field.value = (field.value.trim() ? field.value.trim() + ";" : "") + x + "," + y;
      draw();
    });
    field.addEventListener("input", draw);
    var clear = document.querySelector('[data-points-clear="' + field.id + '"]');
    if (clear) { clear.addEventListener("click", function () { field.value = ""; draw(); }); }
    draw();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("img[data-points-target]").forEach(setUp);
  });
})();
