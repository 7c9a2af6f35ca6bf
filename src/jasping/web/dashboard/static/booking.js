// Booking section of the agent page: an "Add a service" button that adds an empty row.
// Without script the form still works: it always ends with blank rows to fill in.
(function () {
  "use strict";
  var group = document.getElementById("services");
  var button = document.getElementById("add-service");
  if (!group || !button || group.matches(":disabled")) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var rows = group.querySelectorAll(".service-row");
    var index = rows.length; // rows are numbered 0 .. n-1 in page order
    var row = rows[index - 1].cloneNode(true);
    row.querySelectorAll("input, label").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/^service-\d+-/, "service-" + index + "-")); }
      });
      if (el.tagName === "INPUT") {
        if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
        el.removeAttribute("autofocus");
      }
    });
    row.querySelector("legend").textContent = (group.getAttribute("data-legend") || "{n}").replace("{n}", index + 1);
    group.insertBefore(row, button);
    row.querySelector('input[name$="-name"]').focus();
  });
}());
