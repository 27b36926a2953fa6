// The compose form's running total: the recipients of every ticked area added up. Areas that
// overlap (a district and one of its associations) are counted twice here; the preview counts
// each resident once and is the number that is sent.
(function () {
  "use strict";
  var form = document.querySelector("form.compose");
  var total = document.getElementById("live-total");
  if (!form || !total) { return; }
  function update() {
    var sum = 0;
    form.querySelectorAll("input[type=checkbox][data-recipients]:checked").forEach(function (box) {
      sum += parseInt(box.getAttribute("data-recipients"), 10) || 0;
    });
    total.textContent = String(sum);
  }
  form.addEventListener("change", update);
  update();
})();
