// The inbox's live updates: an EventSource on /inbox/events (server-sent events), whose `conversation` events come
// with each new message and each takeover, hand-back, close, assignment or rating. The unfiltered list updates its
// rows in place (a new conversation is added on top); a filtered list reloads unless a field has the focus; a
// conversation reloads unless a reply or note is being typed, else it says so.
// Browser notifications (asked with a button, never on page load) when a customer asks for a person; canned replies
// are inserted in the reply box from the picker.
(function () {
  'use strict';
  var live = document.getElementById('inbox-live');
  var attr = function (name) { return live ? live.getAttribute(name) || '' : ''; };

  // ---- canned replies: the chosen one goes into the reply box at the cursor --------------------------------------
  var pick = document.getElementById('canned-pick');
  var insert = document.getElementById('canned-insert');
  var box = document.getElementById('reply-text');
  if (pick && insert && box) {
    insert.addEventListener('click', function () {
      var option = pick.options[pick.selectedIndex];
      var text = option ? option.getAttribute('data-text') : '';
      if (!text) return;
      var start = box.selectionStart || 0;
      var end = box.selectionEnd || 0;
      box.value = box.value.slice(0, start) + text + box.value.slice(end);
      box.focus();
      box.selectionStart = box.selectionEnd = start + text.length;
    });
  }

  // ---- browser notifications ----------------------------------------------------------------------------------------
  var button = document.getElementById('notify-on');
  var canNotify = 'Notification' in window;
  function showButton() {
    if (!button) return;
    button.hidden = !canNotify || Notification.permission !== 'default';
    var state = document.getElementById('notify-state');
    if (state && canNotify && Notification.permission === 'granted') state.textContent = state.getAttribute('data-on');
    if (state && canNotify && Notification.permission === 'denied') state.textContent = state.getAttribute('data-off');
  }
  if (button && canNotify) {
    button.addEventListener('click', function () {
      var asked = Notification.requestPermission(showButton);
      if (asked && asked.then) asked.then(showButton);
    });
  }
  showButton();
  var told = {};
  function notify(data) {
    if (!canNotify || Notification.permission !== 'granted' || data.state !== 'needs_human' || told[data.id]) return;
    told[data.id] = true;
    try {
      var n = new Notification(attr('data-notify-title'), { body: attr('data-notify-body').replace('{channel}', data.channel), tag: 'jasping-' + data.id });
      n.onclick = function () { window.focus(); window.location.href = '/inbox/' + encodeURIComponent(data.id); };
    } catch (e) { /* a browser that only notifies from a service worker: the list still updates */ }
  }

  // ---- live updates -------------------------------------------------------------------------------------------------
  if (!live || !window.EventSource) return;
  var url = attr('data-inbox-events') + '?since=' + encodeURIComponent(attr('data-since'));
  var only = attr('data-conversation');
  var labels = {};
  try { labels = JSON.parse(attr('data-labels') || '{}'); } catch (e) { labels = {}; }
  var source = new EventSource(url);
  function typing() {
    var fields = document.querySelectorAll('textarea, input[type=date], select');
    for (var i = 0; i < fields.length; i++) {
      if (fields[i] === document.activeElement || (fields[i].tagName === 'TEXTAREA' && fields[i].value)) return true;
    }
    return false;
  }
  function cell(row, name) { return row.querySelector('[data-field="' + name + '"]'); }
  function fill(row, data) {
    var badge = cell(row, 'state');
    if (badge) { badge.className = 'badge state-' + data.state; badge.textContent = labels['state:' + data.state] || data.state; }
    if (cell(row, 'messages')) cell(row, 'messages').textContent = String(data.message_count);
    var time = cell(row, 'last');
    if (time) { time.setAttribute('datetime', data.last_message_at); time.textContent = data.last_message_at.slice(0, 16).replace('T', ' ') + ' UTC'; }
  }
  // The unfiltered list: the conversation's row changes in place, or a new row goes on top (cloned from a template).
  function update(data) {
    var body = document.getElementById('inbox-rows');
    var template = document.getElementById('inbox-row');
    if (!body || !template) return false;
    var row = body.querySelector('tr[data-conversation="' + (window.CSS && CSS.escape ? CSS.escape(data.id) : data.id) + '"]');
    if (!row) {
      row = template.content.firstElementChild.cloneNode(true);
      row.setAttribute('data-conversation', data.id);
      var link = row.querySelector('a');
      link.href = '/inbox/' + encodeURIComponent(data.id);
      link.textContent = data.id;
      cell(row, 'channel').textContent = labels['channel:' + data.channel] || data.channel;
      cell(row, 'agent').textContent = labels['agent:' + data.agent_id] || '';
    }
    fill(row, data);
    body.insertBefore(row, body.firstChild); // the latest activity first
    var empty = document.getElementById('inbox-empty');
    if (empty) empty.hidden = true;
    var table = document.getElementById('inbox-table');
    if (table) table.hidden = false;
    return true;
  }
  source.addEventListener('conversation', function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    notify(data);
    if (only && data.id !== only) return;
    if (!only && live.hasAttribute('data-in-place') && update(data)) return;
    if (typing()) {
      live.textContent = attr('data-new-activity');
    } else {
      source.close();
      window.location.reload();
    }
  });
})();
