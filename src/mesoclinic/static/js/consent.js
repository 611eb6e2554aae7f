// The consent page's signature pad (signature_pad, vendored from npm; no inline script: CSP).
(function () {
  "use strict";
  function start() {
    var canvas = document.getElementById("signature-pad");
    var form = document.getElementById("consent-form");
    if (!canvas || !form || typeof SignaturePad === "undefined") { return; }
    var pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 3 });
    function fit() {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var data = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      pad.fromData(data);
    }
    window.addEventListener("resize", fit);
    fit();
    document.getElementById("signature-clear").addEventListener("click", function () { pad.clear(); });
    form.addEventListener("submit", function () {
      document.getElementById("signature-data").value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
