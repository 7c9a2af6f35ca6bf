// Knowledge page: drag-and-drop upload and live source states (polls the JSON API while work runs).
(function () {
  "use strict";
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file");
  if (zone && input) {
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        document.getElementById("upload-form").submit();
      }
    });
  }
  var table = document.getElementById("sources");
  if (!table) { return; }
  function busy() { return table.querySelector('tr[data-state="queued"], tr[data-state="processing"]'); }
  function poll() {
    if (!busy()) { return; }
    fetch("/api/v1/agents/" + table.dataset.agent + "/sources", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var changed = false;
        data.sources.forEach(function (s) {
          var row = table.querySelector('tr[data-source="' + s.id + '"]');
          if (!row) { return; }
          if (row.dataset.state !== s.state) { changed = true; }
          var bar = row.querySelector("progress");
          if (bar) { bar.value = s.progress; bar.textContent = s.progress + "%"; }
          var note = row.querySelector(".state small");
          if (note && s.progress_note) { note.textContent = s.progress_note; }
        });
        if (changed) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
