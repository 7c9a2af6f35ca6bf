// The inbox's live updates: an EventSource on /inbox/events (server-sent events). The list reloads on news unless
// a filter field has the focus; a conversation reloads unless a reply or note is being typed, else it says so.
(function () {
  'use strict';
  var live = document.getElementById('inbox-live');
  if (!live || !window.EventSource) return;
  var url = live.getAttribute('data-inbox-events') + '?since=' + encodeURIComponent(live.getAttribute('data-since'));
  var only = live.getAttribute('data-conversation');
  var source = new EventSource(url);
  function typing() {
    var fields = document.querySelectorAll('textarea, input[type=date], select');
    for (var i = 0; i < fields.length; i++) {
      if (fields[i] === document.activeElement || (fields[i].tagName === 'TEXTAREA' && fields[i].value)) return true;
    }
    return false;
  }
  source.addEventListener('conversation', function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (only && data.id !== only) return;
    if (typing()) {
      live.textContent = live.getAttribute('data-new-activity');
    } else {
      source.close();
      window.location.reload();
    }
  });
})();
