// The e-pass verify page (核验): a QR link `https://HOST/v#TOKEN` keeps the token in the fragment (never
// sent to a server log); move it into the form and submit. Where the browser has BarcodeDetector, a
// camera button scans the QR into the same form. No framework, no inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-epass-token]");
  if (!box) return;
  var form = box.form;
  var hash = window.location.hash.replace(/^#/, "");
  if (hash && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(hash)) {
    box.value = hash;
    history.replaceState(null, "", window.location.pathname);
    form.submit();
    return;
  }
  var button = document.querySelector("[data-epass-scan]");
  var video = document.querySelector("[data-epass-camera]");
  if (!button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var tick = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            box.value = codes[0].rawValue;
            form.submit();
          } else {
            requestAnimationFrame(tick);
          }
        }, function () { requestAnimationFrame(tick); });
      };
      tick();
    });
  });
})();
