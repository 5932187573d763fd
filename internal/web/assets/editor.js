// The Words page's count as one types: SMS segments and encoding of the
// words, placeholders counted at the length the server measured them
// (data-extra). The server counts again on save; this only saves a trip.
"use strict";
(function () {
  var gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "^{}\\[~]|€";
  function count(text, extra) {
    var chars = Array.from(text), septets = 0, ucs2 = false, units = 0;
    chars.forEach(function (c) {
      if (gsm.indexOf(c) >= 0) { septets += 1; }
      else if (ext.indexOf(c) >= 0) { septets += 2; }
      else { ucs2 = true; }
      units += c.length; // UTF-16 code units
    });
    var n = (ucs2 ? units : septets) + extra;
    var one = ucs2 ? 70 : 160, part = ucs2 ? 67 : 153;
    var segments = n === 0 ? 0 : (n <= one ? 1 : Math.ceil(n / part));
    return { segments: segments, encoding: ucs2 ? "UCS-2" : "GSM-7", chars: chars.length + extra };
  }
  document.querySelectorAll("textarea[data-count]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-count"));
    var extra = parseInt(area.getAttribute("data-extra"), 10) || 0;
    if (!out) { return; }
    area.addEventListener("input", function () {
      var c = count(area.value, extra);
      out.textContent = c.segments + " SMS · " + c.encoding + " · " + c.chars + " characters (as you type)";
      out.classList.toggle("over", c.segments > 2);
    });
  });
})();
