// The sign-up form: the browser's time zone, for the registration risk assessment (locale against country).
(function () {
  var field = document.getElementById("timezone");
  try {
    if (field) field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) { /* no Intl: the field stays empty */ }
})();
