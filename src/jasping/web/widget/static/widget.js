/*! JasPing chat widget. Embed with
 * <script src="https://HOST/widget.js" data-agent="PUBLIC_KEY" async></script>
 * Optional attributes: data-color (accent), data-position (left|right), data-lang (en|fr|ar),
 * data-privacy-url (the privacy policy linked from the consent notice; default: the agent's privacy notice).
 * Once the visitor has accepted the notice, "Withdraw my consent" (asked twice) withdraws every consent they gave
 * and ends the conversation (POST /sessions/{id}/consents/withdraw {"purpose": "all"}).
 * Dependency-free; renders inside an open Shadow DOM; the only global is window.JasPing.
 */
(function () {
  'use strict';
  if (window.JasPing) return; // one widget per page

  var script = document.currentScript || document.querySelector('script[data-agent][src*="widget.js"]');
  if (!script || !script.getAttribute('data-agent')) return;
  var attr = function (name) { return (script.getAttribute('data-' + name) || '').trim(); };

  var KEY = attr('agent');
  var SRC = new URL(script.src, location.href);
  var BASE = SRC.origin + SRC.pathname.replace(/\/widget\.js$/, '');
  var API = BASE + '/api/v1/widget';
  var STORE = 'jasping:' + KEY;
  var CONSENT = 'jasping:consent:' + KEY;
  var MAX_CHARS = 4000;

  // ---- UI strings ------------------------------------------------------------------------------
  var STRINGS = {
    en: {
      open: 'Open chat', close: 'Close chat', chat: 'Chat with {name}', assistant: 'Assistant',
      messages: 'Messages', input: 'Type your message', placeholder: 'Type your message…', send: 'Send',
      human: 'Talk to a person', sources: 'Sources:', typing: 'Typing…',
      consent: 'By chatting you accept our ', privacy: 'privacy policy', date: 'e.g. Tuesday at 10am',
      time: 'e.g. 10:30', network: 'We could not reach the assistant. Please check your connection and try again.',
      failed: 'Sorry, something went wrong. Please try again in a moment.',
      busy: 'You are sending messages too quickly. Please wait a moment.',
      invalid: 'Sorry, this message could not be sent. Please shorten or rephrase it.',
      unavailable: 'This chat is not available right now.', attach: 'Send a file',
      fileType: 'This kind of file cannot be sent. Send a photo, a PDF, a Word or Excel document or a text file.',
      fileSize: 'This file is too large to send.', withdraw: 'Withdraw my consent',
      withdrawConfirm: 'Withdraw and end this chat?',
      withdrawn: 'Your consent is withdrawn and this chat has ended. Write again to start a new one.',
      csatAsk: 'This conversation is closed. How satisfied are you with our help?',
      csatScale: '1 = not at all satisfied, 5 = very satisfied', csatN: '{name} out of 5',
      csatThanks: 'Thank you for your rating!'
    },
    fr: {
      open: 'Ouvrir la discussion', close: 'Fermer la discussion', chat: 'Discuter avec {name}',
      assistant: 'Assistant', messages: 'Messages', input: 'Votre message', placeholder: 'Écrivez votre message…',
      send: 'Envoyer', human: 'Parler à une personne', sources: 'Sources :', typing: 'Rédaction…',
      consent: 'En discutant, vous acceptez notre ', privacy: 'politique de confidentialité',
      date: 'ex. mardi à 10h', time: 'ex. 10h30',
      network: 'Impossible de joindre l’assistant. Vérifiez votre connexion et réessayez.',
      failed: 'Désolé, une erreur est survenue. Veuillez réessayer dans un instant.',
      busy: 'Vous envoyez des messages trop vite. Merci de patienter un instant.',
      invalid: 'Désolé, ce message n’a pas pu être envoyé. Raccourcissez-le ou reformulez-le.',
      unavailable: 'Cette discussion n’est pas disponible pour le moment.', attach: 'Envoyer un fichier',
      fileType: 'Ce type de fichier ne peut pas être envoyé. Envoyez une photo, un PDF, un document Word ou Excel ou un fichier texte.',
      fileSize: 'Ce fichier est trop volumineux.', withdraw: 'Retirer mon consentement',
      withdrawConfirm: 'Retirer et terminer la discussion ?',
      withdrawn: 'Votre consentement est retiré et la discussion est terminée. Écrivez pour en commencer une nouvelle.',
      csatAsk: 'Cette conversation est terminée. Êtes-vous satisfait de notre aide ?',
      csatScale: '1 = pas du tout satisfait, 5 = très satisfait', csatN: '{name} sur 5',
      csatThanks: 'Merci pour votre note !'
    },
    ar: {
      open: 'فتح المحادثة', close: 'إغلاق المحادثة', chat: 'تحدث مع {name}', assistant: 'المساعد',
      messages: 'الرسائل', input: 'رسالتك', placeholder: 'اكتب رسالتك…', send: 'إرسال',
      human: 'التحدث مع موظف', sources: 'المصادر:', typing: 'يكتب…',
      consent: 'باستخدامك للمحادثة فإنك توافق على ', privacy: 'سياسة الخصوصية',
      date: 'مثال: الثلاثاء الساعة 10 صباحًا', time: 'مثال: 10:30',
      network: 'تعذر الاتصال بالمساعد. يرجى التحقق من اتصالك والمحاولة مرة أخرى.',
      failed: 'عذرًا، حدث خطأ ما. يرجى المحاولة بعد قليل.',
      busy: 'أنت ترسل الرسائل بسرعة كبيرة. يرجى الانتظار قليلًا.',
      invalid: 'عذرًا، تعذر إرسال هذه الرسالة. يرجى اختصارها أو إعادة صياغتها.',
      unavailable: 'هذه المحادثة غير متاحة حاليًا.', attach: 'إرسال ملف',
      fileType: 'لا يمكن إرسال هذا النوع من الملفات. أرسل صورة أو ملف PDF أو مستند Word أو Excel أو ملفًا نصيًا.',
      fileSize: 'هذا الملف كبير جدًا.', withdraw: 'سحب موافقتي',
      withdrawConfirm: 'سحب الموافقة وإنهاء المحادثة؟',
      withdrawn: 'تم سحب موافقتك وانتهت هذه المحادثة. اكتب مجددًا لبدء محادثة جديدة.',
      csatAsk: 'تم إغلاق هذه المحادثة. ما مدى رضاك عن مساعدتنا؟',
      csatScale: '1 = غير راضٍ إطلاقًا، 5 = راضٍ جدًا', csatN: '{name} من 5',
      csatThanks: 'شكرًا على تقييمك!'
    }
  };
  var baseLang = function (tag) { return String(tag || '').toLowerCase().split(/[-_]/)[0]; };
  var supported = function (tag) { return STRINGS[baseLang(tag)] ? baseLang(tag) : null; };
  var lang = supported(attr('lang')) || supported(navigator.language) || 'en';
  var t = function (key, name) { return STRINGS[lang][key].replace('{name}', name || ''); };

  // Right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko…) against Latin/Greek/Cyrillic letters.
  var RTL_CHARS = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/g;
  var LTR_CHARS = /[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF]/g;
  var RTL_LANGS = /^(ar|fa|he|ur|ps|yi|ckb|dv)(-|$)/i;
  var isRtl = function (text) {
    var r = (String(text).match(RTL_CHARS) || []).length;
    return r > 0 && r >= (String(text).match(LTR_CHARS) || []).length;
  };

  // ---- storage (localStorage may throw: private mode, sandboxed frames, disabled cookies) --------
  var store = {
    get: function (k) { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* not persisted */ } },
    del: function (k) { try { localStorage.removeItem(k); } catch (e) { /* nothing to remove */ } }
  };

  // Consent of the visitor to the privacy notice: remembered on this device (the notice is not shown again)
  // and recorded by the server once per conversation, with the words the visitor saw.
  function hasConsent() { return !!store.get(CONSENT); }
  function recordConsent() {
    if (!hasConsent()) store.set(CONSENT, { at: new Date().toISOString(), policy: privacyUrl });
    if (!session || session.consent) return;
    session.consent = true;
    store.set(STORE, session);
    var body = { wording: t('consent') + t('privacy') + '.', language: lang };
    if (privacyUrl !== '#') body.policy_url = privacyUrl;
    request('POST', '/sessions/' + encodeURIComponent(session.id) + '/consent', body)
      .catch(function () { if (session) { session.consent = false; store.set(STORE, session); } });
  }

  var safeUrl = function (value, fallback) {
    if (!value) return fallback;
    try {
      var u = new URL(value, location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : fallback;
    } catch (e) { return fallback; }
  };
  // Without data-privacy-url, the agent's own privacy notice on JasPing (edited by the business, or generated).
  var privacyUrl = attr('privacy-url') === '#' ? '#'
    : safeUrl(attr('privacy-url'), BASE + '/legal/agents/' + encodeURIComponent(KEY) + '/privacy');
  var accent = attr('color');
  if (!accent || !(window.CSS && CSS.supports && CSS.supports('color', accent))) accent = '#2563eb';
  var pageRtl = function () {
    var d = (document.documentElement.getAttribute('dir') || (document.body && document.body.getAttribute('dir')) || '');
    return d.toLowerCase() === 'rtl';
  };
  var sideFixed = attr('position') === 'left' || attr('position') === 'right' ? attr('position') : null;

  // ---- DOM helpers -----------------------------------------------------------------------------
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === 'text') node.textContent = props[k];
        else if (k === 'class') node.className = props[k];
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), props[k]);
        else node.setAttribute(k, props[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function icon(d) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
    return svg;
  }
  var ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
  var ICON_CLOSE = 'M6 6l12 12M18 6L6 18';
  var ICON_SEND = 'M3 20l18-8L3 4v6l12 2-12 2z';
  var ICON_CLIP = 'M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9';

  var CSS_TEXT = [
    ':host{all:initial}',
    '*,*::before,*::after{box-sizing:border-box}',
    '.jp{all:initial;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",Arial,sans-serif;color:#111827;-webkit-font-smoothing:antialiased}',
    'button,input,a{font:inherit;color:inherit}',
    'button{cursor:pointer;border:0;background:none;margin:0;padding:0}',
    ':focus-visible{outline:3px solid var(--jp-focus);outline-offset:2px}',
    '.launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;background:var(--jp-accent);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2}',
    '.launcher svg{width:26px;height:26px;fill:#fff}',
    '.left .launcher{right:auto;left:20px}',
    '.panel{position:fixed;bottom:88px;right:20px;width:370px;height:560px;max-height:calc(100vh - 108px);background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:3}',
    '.left .panel{right:auto;left:20px}',
    '.panel[hidden]{display:none}',
    '.head{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--jp-accent);color:#fff}',
    'h2,p,ul{margin:0}',
    '.title{flex:1;font-weight:600;font-size:16px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.human{font-size:13px;padding:4px 8px;border:1px solid rgba(255,255,255,.7);border-radius:999px;color:#fff}',
    '.x{width:32px;height:32px;display:flex;align-items:center;justify-content:center;border-radius:6px}',
    '.x svg{width:20px;height:20px;stroke:#fff;stroke-width:2.4;fill:none;stroke-linecap:round}',
    '.head :focus-visible{outline-color:#fff}',
    '.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}',
    '.msg{display:flex;flex-direction:column;max-width:85%;align-self:flex-start;align-items:flex-start}',
    '.msg.user{align-self:flex-end;align-items:flex-end}',
    '.bubble{padding:9px 12px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}',
    '.user .bubble{background:var(--jp-accent);color:#fff;border-color:transparent}',
    '.msg[dir=rtl]{text-align:right}',
    '.error .bubble{background:#fef2f2;border-color:#fecaca;color:#991b1b}',
    '.dots{display:inline-flex;gap:4px;padding:4px 0}',
    '.dots i{width:7px;height:7px;border-radius:50%;background:#9ca3af;animation:jpb 1s infinite ease-in-out}',
    '.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}',
    '@keyframes jpb{0%,80%,100%{opacity:.3}40%{opacity:1}}',
    '.cites{margin-top:4px;font-size:13px;color:#4b5563}',
    '.cites ul{margin:2px 0 0;padding:0 0 0 18px}',
    '.cites a{color:var(--jp-accent);text-decoration:underline}',
    '.qr{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}',
    '.qr button{padding:6px 12px;border:1px solid var(--jp-accent);color:var(--jp-accent);background:#fff;border-radius:999px;font-size:14px}',
    '.qr button:hover{background:#f3f4f6}',
    '.consent{padding:6px 14px;font-size:12px;color:#4b5563;background:#fff;border-top:1px solid #e5e7eb}',
    '.consent a{color:var(--jp-accent);text-decoration:underline}',
    '.manage{display:flex;gap:10px;justify-content:space-between;padding:6px 14px;font-size:12px;color:#4b5563;background:#fff;border-top:1px solid #e5e7eb}',
    '.manage[hidden]{display:none}', '.manage a{color:var(--jp-accent);text-decoration:underline}',
    '.manage button{color:#4b5563;text-decoration:underline;font-size:12px}',
    '.manage button.confirm{color:#991b1b;font-weight:600}',
    '.note .bubble{background:#f3f4f6;color:#374151}',
    '.stars{display:flex;gap:6px;margin-top:6px}',
    '.stars button{width:38px;height:38px;border:1px solid var(--jp-accent);color:var(--jp-accent);background:#fff;border-radius:8px;font-weight:600}',
    '.stars button:hover{background:#f3f4f6}', '.stars button:disabled{opacity:.5;cursor:default}',
    '.scale{font-size:12px;color:#4b5563;margin-top:4px}',
    'form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff;margin:0}',
    'input{flex:1;min-width:0;padding:9px 12px;border:1px solid #d1d5db;border-radius:999px;background:#fff;font-size:15px}',
    'input:focus-visible{outline:2px solid var(--jp-focus);outline-offset:0;border-color:var(--jp-accent)}',
    '.send{width:40px;height:40px;border-radius:50%;background:var(--jp-accent);display:flex;align-items:center;justify-content:center;flex:none}',
    '.send svg{width:20px;height:20px;fill:#fff}',
    '.send:disabled{opacity:.5;cursor:default}',
    '.clip{width:40px;height:40px;border-radius:50%;display:flex;align-items:center;justify-content:center;flex:none;color:#4b5563}',
    '.clip svg{width:20px;height:20px;stroke:currentColor;stroke-width:2;fill:none;stroke-linecap:round;stroke-linejoin:round}',
    '.clip:disabled{opacity:.5;cursor:default}',
    '.file{display:none}',
    '.msg .bubble.doc::before{content:"\\1F4CE\\00A0"}',
    '[dir=rtl] .send svg{transform:scaleX(-1)}',
    '@media (max-width:480px){.panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0}',
    '.open .launcher{display:none}}',
    '@media (prefers-reduced-motion:reduce){.dots i{animation:none}}'
  ].join('\n');

  // ---- state -----------------------------------------------------------------------------------
  var session = store.get(STORE); // {id, token, name, greeting, languages} of the visitor's conversation
  var convLang = null; // the conversation's language, from the agent's last reply
  var loaded = false; // the greeting and history are in the message list
  var starting = null; // the pending promise that starts or restores the conversation
  var busy = false;
  var confirming = false; // "Withdraw my consent" was pressed once: the next press withdraws
  var ui = null;

  function build() {
    var host = document.createElement('div');
    host.setAttribute('data-jasping', '');
    // Inline !important beats the page's stylesheets, even `* { all: unset !important }`.
    host.style.cssText = 'all:initial!important;display:block!important;position:fixed!important;' +
      'top:0!important;left:0!important;width:0!important;height:0!important;overflow:visible!important;' +
      'z-index:2147483000!important;visibility:visible!important;opacity:1!important;transform:none!important';
    var root = host.attachShadow({ mode: 'open' });
    try { // a constructed stylesheet is not subject to the page's Content-Security-Policy style-src
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el('style', { text: CSS_TEXT }));
    }

    var r = {};
    r.launcher = el('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false',
      'aria-controls': 'jp-panel', onclick: function () { (r.panel.hidden ? open : close)(); } }, [icon(ICON_CHAT)]);
    r.title = el('h2', { class: 'title' });
    r.human = el('button', { type: 'button', class: 'human', onclick: function () { send(STRINGS[convLang || lang].human); } });
    r.x = el('button', { type: 'button', class: 'x', onclick: function () { close(); } }, [icon(ICON_CLOSE)]);
    r.log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions text' });
    r.privacy = el('a', { href: privacyUrl, target: '_blank', rel: 'noopener noreferrer' });
    r.consentText = document.createTextNode('');
    r.consent = el('p', { class: 'consent' }, [r.consentText, r.privacy, document.createTextNode('.')]);
    r.consent.hidden = true;
    r.policy = el('a', { href: privacyUrl, target: '_blank', rel: 'noopener noreferrer' });
    r.withdraw = el('button', { type: 'button', onclick: function () { askWithdrawal(); } });
    r.manage = el('p', { class: 'manage' }, [r.policy, r.withdraw]);
    r.manage.hidden = true;
    r.input = el('input', { type: 'text', maxlength: String(MAX_CHARS), autocomplete: 'off', enterkeyhint: 'send' });
    r.send = el('button', { type: 'submit', class: 'send' }, [icon(ICON_SEND)]);
    r.file = el('input', { type: 'file', class: 'file', tabindex: '-1', 'aria-hidden': 'true',
      accept: 'image/*,.pdf,.docx,.xlsx,.txt,.csv', onchange: function () {
        var f = r.file.files && r.file.files[0];
        r.file.value = '';
        if (f) sendFile(f);
      } });
    r.clip = el('button', { type: 'button', class: 'clip', onclick: function () { if (!busy) r.file.click(); } }, [icon(ICON_CLIP)]);
    r.form = el('form', { novalidate: '', onsubmit: function (e) {
      e.preventDefault();
      var text = r.input.value;
      if (text.trim() && !busy) { r.input.value = ''; send(text); }
    } }, [r.clip, r.input, r.send]);
    r.panel = el('div', { class: 'panel', id: 'jp-panel', role: 'dialog', 'aria-modal': 'false' }, [el('div', { class: 'head' }, [r.title, r.human, r.x]), r.log, r.consent, r.manage, r.form]);
    r.panel.hidden = true;
    r.wrap = el('div', { class: 'jp' }, [r.panel, r.launcher]);
    r.wrap.addEventListener('keydown', function (e) {
      if ((e.key === 'Escape' || e.key === 'Esc') && !r.panel.hidden) { e.stopPropagation(); close(); }
    });
    r.wrap.style.setProperty('--jp-accent', accent);
    r.wrap.style.setProperty('--jp-focus', accent);
    root.appendChild(r.wrap);
    root.appendChild(r.file); // outside the panel: hidden, opened by the paperclip button
    (document.body || document.documentElement).appendChild(host);
    r.host = host;
    return r;
  }

  // Texts and direction of the chrome, in the current UI language.
  function applyLanguage() {
    var rtl = lang === 'ar';
    var left = sideFixed ? sideFixed === 'left' : (rtl || pageRtl());
    ui.wrap.className = 'jp' + (left ? ' left' : '') + (ui.panel.hidden ? '' : ' open');
    ui.panel.setAttribute('dir', rtl ? 'rtl' : 'ltr');
    ui.panel.setAttribute('lang', lang);
    var name = (session && session.name) || t('assistant');
    ui.title.textContent = name;
    ui.panel.setAttribute('aria-label', t('chat', name));
    ui.launcher.setAttribute('aria-label', ui.panel.hidden ? t('open') : t('close'));
    ui.human.textContent = t('human');
    ui.x.setAttribute('aria-label', t('close'));
    ui.log.setAttribute('aria-label', t('messages'));
    ui.input.setAttribute('aria-label', t('input'));
    ui.send.setAttribute('aria-label', t('send'));
    ui.clip.setAttribute('aria-label', t('attach'));
    ui.clip.setAttribute('title', t('attach'));
    ui.consentText.nodeValue = t('consent');
    ui.privacy.textContent = ui.policy.textContent = t('privacy');
    ui.withdraw.textContent = t(confirming ? 'withdrawConfirm' : 'withdraw');
    ui.withdraw.className = confirming ? 'confirm' : '';
    applyHint(ui.hint || 'text');
  }

  function setLanguage(code) {
    var next = supported(code);
    if (next && next !== lang) { lang = next; applyLanguage(); }
  }

  // ---- messages --------------------------------------------------------------------------------
  function scroll() { ui.log.scrollTop = ui.log.scrollHeight; }

  function addMessage(role, text, file) {
    var bubble = el('div', { class: file ? 'bubble doc' : 'bubble' });
    var node = document.createTextNode(text || '');
    bubble.appendChild(node);
    var msg = el('div', { class: 'msg ' + role }, [bubble]);
    setDir(msg, text);
    ui.log.appendChild(msg);
    scroll();
    return { msg: msg, bubble: bubble, node: node };
  }

  // An agent's reply follows its language (an Arabic reply may quote a French passage); other text its script.
  function setDir(msg, text, language) {
    if (!text) return;
    var rtl = language ? RTL_LANGS.test(language) : isRtl(text);
    msg.setAttribute('dir', rtl ? 'rtl' : 'ltr');
    if (rtl) msg.setAttribute('lang', 'ar');
    else msg.removeAttribute('lang');
  }

  function showError(key) {
    var m = addMessage('error', t(key));
    m.msg.setAttribute('role', 'alert');
  }

  function renderCitations(m, citations) {
    if (!citations || !citations.length) return;
    var list = el('ul');
    citations.forEach(function (c) {
      if (!c || !c.title) return;
      var href = safeUrl(c.url, null);
      var item = href
        ? el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: c.title })
        : el('span', { text: c.title });
      if (c.snippet) item.setAttribute('title', c.snippet);
      list.appendChild(el('li', null, [item]));
    });
    if (list.childNodes.length) m.msg.appendChild(el('div', { class: 'cites' }, [el('span', { text: t('sources') }), list]));
  }

  function clearQuickReplies() {
    Array.prototype.forEach.call(ui.log.querySelectorAll('.qr'), function (n) { n.remove(); });
  }

  function renderQuickReplies(m, labels) {
    if (!labels || !labels.length) return;
    var row = el('div', { class: 'qr' });
    labels.forEach(function (label) {
      if (typeof label !== 'string' || !label) return;
      var b = el('button', { type: 'button', text: label, onclick: function () { if (!busy) send(label); } });
      setDir(b, label);
      row.appendChild(b);
    });
    m.msg.appendChild(row);
  }

  // The input suits the answer the agent asked for (email keyboard, phone keypad, name autofill…).
  var HINTS = {
    email: { type: 'email', inputmode: 'email', autocomplete: 'email' },
    phone: { type: 'tel', inputmode: 'tel', autocomplete: 'tel' },
    name: { type: 'text', inputmode: 'text', autocomplete: 'name' },
    date: { type: 'text', inputmode: 'text', autocomplete: 'off', placeholder: 'date' },
    time: { type: 'text', inputmode: 'text', autocomplete: 'off', placeholder: 'time' }
  };
  function applyHint(type) {
    var h = HINTS[type] || { type: 'text', inputmode: 'text', autocomplete: 'off' };
    ui.hint = HINTS[type] ? type : 'text';
    ui.input.setAttribute('type', h.type);
    ui.input.setAttribute('inputmode', h.inputmode);
    ui.input.setAttribute('autocomplete', h.autocomplete);
    ui.input.setAttribute('placeholder', t(h.placeholder || 'placeholder'));
  }

  function renderReply(m, reply) {
    var text = String(reply.text || '');
    if (m.node.nodeValue !== text) m.node.nodeValue = text;
    stopTyping(m);
    setDir(m.msg, text, reply.language);
    renderCitations(m, reply.citations);
    renderQuickReplies(m, reply.quick_replies);
    if (reply.language) { convLang = supported(reply.language) || convLang; setLanguage(reply.language); }
    applyHint(reply.input_hint && reply.input_hint.type);
    scroll();
  }

  function startTyping(m) {
    m.dots = el('span', { class: 'dots', 'aria-hidden': 'true', title: t('typing') }, [el('i'), el('i'), el('i')]);
    m.bubble.appendChild(m.dots);
  }
  function stopTyping(m) { if (m.dots) { m.dots.remove(); m.dots = null; } }

  // ---- HTTP ------------------------------------------------------------------------------------
  function HttpError(status) { this.status = status; }

  function request(method, path, body, headers, retried) {
    var h = { Accept: 'application/json' };
    var form = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !form) h['Content-Type'] = 'application/json';
    if (session && path.indexOf('/sessions/') === 0) h.Authorization = 'Bearer ' + session.token;
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(API + path, {
      method: method, headers: h, body: body === undefined || form ? body : JSON.stringify(body),
      mode: 'cors', credentials: 'omit', cache: 'no-store'
    }).then(function (res) {
      if (res.status === 503 && !retried) { // busy: retry once (messages carry an id, so never twice stored)
        var wait = Math.min(10, parseInt(res.headers.get('retry-after') || '2', 10) || 2) * 1000;
        return new Promise(function (ok) { setTimeout(ok, wait); })
          .then(function () { return request(method, path, body, headers, true); });
      }
      if (!res.ok) throw new HttpError(res.status);
      return res;
    });
  }

  function errorKey(err) {
    if (err instanceof TypeError) return 'network'; // fetch could not reach the server
    if (!(err instanceof HttpError)) return 'failed';
    if (err.status === 429 || err.status === 503) return 'busy';
    if (err.status === 404 || err.status === 403) return 'unavailable';
    if (err.status === 413 || err.status === 422 || err.status === 400) return 'invalid';
    return 'failed';
  }

  async function newSession() {
    var res = await request('POST', '/' + encodeURIComponent(KEY) + '/sessions', { locale: navigator.language || null });
    var data = await res.json();
    session = { id: data.conversation_id, token: data.session_token, name: data.agent_name || '',
      greeting: data.greeting || '', languages: data.languages || [], maxFileMb: data.max_file_mb || 10 };
    store.set(STORE, session);
    if (!attr('lang') && !supported(navigator.language)) setLanguage((session.languages || [])[0]);
    applyLanguage();
    if (session.greeting) addMessage('agent', session.greeting);
  }

  async function restore() {
    var res = await request('GET', '/sessions/' + encodeURIComponent(session.id) + '/messages');
    var data = await res.json();
    if (session.greeting) addMessage('agent', session.greeting);
    (data.messages || []).forEach(function (item) {
      var m = addMessage(item.role === 'user' ? 'user' : 'agent', String(item.text || ''), !!item.file);
      if (item.role !== 'user') { setDir(m.msg, String(item.text || ''), item.language); renderCitations(m, item.citations); }
    });
    var last = (data.messages || []).filter(function (i) { return i.role !== 'user'; }).pop();
    if (last && (last.language ? RTL_LANGS.test(last.language) : isRtl(last.text))) setLanguage('ar');
    applyLanguage();
    checkStatus(); // a person in charge, or the satisfaction question of a closed conversation
  }

  // Starts the conversation, or brings back a returning visitor's (a new one when it expired).
  function ensureStarted() {
    if (loaded) return Promise.resolve();
    if (!starting) {
      starting = (async function () {
        try {
          if (session && session.id && session.token) {
            try { await restore(); } catch (err) {
              if (!(err instanceof HttpError) || (err.status !== 401 && err.status !== 404)) throw err;
              dropSession();
              await newSession();
            }
          } else {
            await newSession();
          }
          loaded = true;
        } finally { starting = null; }
      })();
    }
    return starting;
  }

  function dropSession() { session = null; store.del(STORE); }

  // Server-sent events from a fetch body: calls onEvent(name, data) for each complete event.
  async function readEvents(res, onEvent) {
    var buffer = '';
    var name = 'message';
    var data = [];
    var feed = function (chunk, final) {
      buffer += chunk;
      var lines = buffer.split(/\r\n|\r|\n/);
      buffer = final ? '' : lines.pop();
      lines.forEach(function (line) {
        if (line === '') {
          if (data.length) onEvent(name, data.join('\n'));
          name = 'message'; data = [];
        } else if (line[0] !== ':') {
          var i = line.indexOf(':');
          var field = i < 0 ? line : line.slice(0, i);
          var value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'event') name = value;
          else if (field === 'data') data.push(value);
        }
      });
    };
    if (res.body && res.body.getReader && window.TextDecoder) {
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      for (;;) {
        var part = await reader.read();
        if (part.done) break;
        feed(decoder.decode(part.value, { stream: true }), false);
      }
      feed(decoder.decode() + '\n\n', true);
    } else {
      feed((await res.text()) + '\n\n', true); // no streaming in this browser: the whole body at once
    }
  }

  async function ask(text, m) {
    var path = '/sessions/' + encodeURIComponent(session.id) + '/messages';
    // One id per message: a retry after a broken stream is answered once, never stored twice.
    var body = { text: text, client_message_id: 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10) };
    var res = await request('POST', path, body, { Accept: 'text/event-stream' });
    var type = res.headers.get('content-type') || '';
    if (type.indexOf('text/event-stream') < 0) return (await res.json()).reply; // a proxy or server chose JSON
    var reply = null;
    var failed = false;
    try {
      await readEvents(res, function (event, raw) {
        var data;
        try { data = JSON.parse(raw); } catch (e) { return; }
        if (event === 'token' && data && typeof data.text === 'string' && !reply) {
          stopTyping(m);
          m.node.appendData(data.text);
          if (m.node.length === data.text.length) setDir(m.msg, data.text);
          scroll();
        } else if (event === 'reply' && data && data.reply) {
          reply = data.reply;
        } else if (event === 'error') {
          failed = true;
        }
      });
    } catch (e) {
      if (reply) return reply;
      // The stream broke before the reply: ask again without streaming.
      m.node.nodeValue = '';
      var again = await request('POST', path, body);
      return (await again.json()).reply;
    }
    if (!reply) throw new HttpError(failed ? 500 : 502);
    return reply;
  }

  async function send(raw) {
    var text = String(raw || '').trim().slice(0, MAX_CHARS);
    if (!text || busy) return;
    busy = true;
    ui.send.disabled = true;
    var m = null;
    try {
      try { await ensureStarted(); } catch (err) {
        if (!ui.input.value) ui.input.value = text; // not lost: the visitor can send it again
        throw err;
      }
      clearQuickReplies();
      recordConsent();
      showPrivacy();
      addMessage('user', text);
      applyHint('text');
      m = addMessage('agent', '');
      startTyping(m);
      var reply;
      try {
        reply = await ask(text, m);
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 401) throw err;
        dropSession(); // the conversation expired or was erased: start a new one and say it again
        loaded = false;
        await ensureStarted();
        ui.log.appendChild(m.msg);
        reply = await ask(text, m);
      }
      if (reply && reply.human) { // a person holds the conversation: no automatic reply, theirs come by polling
        stopTyping(m); m.msg.remove(); watchPerson();
      } else {
        stopWatching();
        renderReply(m, reply || {});
        checkStatus(); // the visitor asked for a person: their replies are read from the history
      }
    } catch (err) {
      if (m) { stopTyping(m); if (!m.node.length) m.msg.remove(); }
      showError(errorKey(err));
    } finally {
      busy = false;
      ui.send.disabled = false;
    }
  }

  // While a team member holds the conversation, their replies are read from the history every few seconds.
  var watching = null;
  var lastSeen = null;
  async function pollPerson() {
    if (!session) return;
    try {
      var res = await request('GET', '/sessions/' + encodeURIComponent(session.id) + '/messages');
      var items = (await res.json()).messages || [];
      if (lastSeen === null) { lastSeen = items.length ? items[items.length - 1].created_at : ''; return; }
      items.forEach(function (item) {
        if (!(item.created_at > lastSeen)) return;
        lastSeen = item.created_at;
        if (item.role === 'user') return;
        var m = addMessage('agent', String(item.text || ''));
        setDir(m.msg, String(item.text || ''), item.language);
      });
      await checkStatus();
    } catch (err) { /* tried again at the next tick */ }
  }
  function watchPerson() {
    if (watching) return;
    lastSeen = null;
    pollPerson();
    watching = setInterval(pollPerson, 5000);
  }
  function stopWatching() { if (watching) { clearInterval(watching); watching = null; } }

  // ---- where the conversation stands: a person asked for or in charge (watch the history), or closed (CSAT) ----
  var csatShown = false;
  async function checkStatus() {
    if (!session) return;
    try {
      var res = await request('GET', '/sessions/' + encodeURIComponent(session.id) + '/status');
      var data = await res.json();
      var state = data.conversation;
      if (state === 'needs_human' || state === 'human') watchPerson();
      else stopWatching();
      if (state === 'closed' && data.csat && data.csat.state === 'asked') showCsat();
    } catch (err) { /* asked again after the next message or tick */ }
  }

  // One question, five buttons (keyboard: Tab and Enter); the rating is sent once.
  function showCsat() {
    if (csatShown || !ui) return;
    csatShown = true;
    var m = addMessage('agent', t('csatAsk'));
    var row = el('div', { class: 'stars', role: 'group', 'aria-label': t('csatAsk') });
    [1, 2, 3, 4, 5].forEach(function (n) {
      row.appendChild(el('button', { type: 'button', text: String(n), 'aria-label': t('csatN', String(n)),
        title: t('csatN', String(n)), onclick: function () { rate(n, row, scale); } }));
    });
    var scale = el('p', { class: 'scale', text: t('csatScale') });
    m.msg.appendChild(row);
    m.msg.appendChild(scale);
    scroll();
  }
  async function rate(n, row, scale) {
    var buttons = row.querySelectorAll('button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    try {
      await request('POST', '/sessions/' + encodeURIComponent(session.id) + '/csat', { rating: n });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) { // 409: rated already, thanked the same
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        showError(errorKey(err));
        return;
      }
    }
    row.remove(); scale.remove();
    var thanks = addMessage('agent', t('csatThanks'));
    thanks.msg.setAttribute('role', 'status');
    ui.input.focus();
  }

  // A file the visitor picked: shown at once, uploaded, acknowledged by the agent.
  async function sendFile(file) {
    if (busy) return;
    busy = true;
    ui.send.disabled = ui.clip.disabled = true;
    var m = null;
    var mine = null;
    try {
      await ensureStarted();
      if (file.size > (session.maxFileMb || 10) * 1024 * 1024) { showError('fileSize'); return; }
      clearQuickReplies();
      recordConsent();
      showPrivacy();
      mine = addMessage('user', file.name || 'file', true);
      m = addMessage('agent', '');
      startTyping(m);
      var form = new FormData();
      form.append('file', file, file.name || 'file');
      form.append('client_message_id', 'f' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10));
      var res = await request('POST', '/sessions/' + encodeURIComponent(session.id) + '/files', form);
      var data = await res.json();
      if (data.file && data.file.name) mine.node.nodeValue = data.file.name;
      renderReply(m, data.reply || {});
    } catch (err) {
      if (m) { stopTyping(m); m.msg.remove(); }
      if (mine) mine.msg.remove();
      var status = err instanceof HttpError ? err.status : 0;
      showError(status === 415 ? 'fileType' : status === 413 ? 'fileSize' : errorKey(err));
    } finally {
      busy = false;
      ui.send.disabled = ui.clip.disabled = false;
    }
  }

  // ---- consent: the notice before the first message, then the policy and "Withdraw my consent" -----------
  function showPrivacy() {
    ui.consent.hidden = hasConsent();
    ui.manage.hidden = !(hasConsent() && session);
  }

  function askWithdrawal() {
    if (busy || !session) return;
    if (!confirming) { confirming = true; applyLanguage(); ui.withdraw.focus(); return; }
    withdrawConsent();
  }

  // Every consent the visitor gave is withdrawn and the conversation ends; this device forgets both.
  async function withdrawConsent() {
    busy = true;
    ui.send.disabled = ui.clip.disabled = ui.withdraw.disabled = true;
    try {
      await request('POST', '/sessions/' + encodeURIComponent(session.id) + '/consents/withdraw', { purpose: 'all' });
      dropSession();
      store.del(CONSENT);
      loaded = false;
      while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
      var m = addMessage('note', t('withdrawn'));
      m.msg.setAttribute('role', 'status');
    } catch (err) {
      showError(errorKey(err));
    } finally {
      busy = confirming = false;
      ui.send.disabled = ui.clip.disabled = ui.withdraw.disabled = false;
      showPrivacy();
      applyLanguage();
    }
  }

  // ---- open / close ----------------------------------------------------------------------------
  function open() {
    if (!ui) return;
    if (ui.panel.hidden) {
      ui.panel.hidden = false;
      ui.launcher.setAttribute('aria-expanded', 'true');
      showPrivacy();
      applyLanguage();
    }
    ui.input.focus();
    if (!loaded) {
      ensureStarted().then(function () { showPrivacy(); scroll(); }, function (err) {
        if (err instanceof HttpError && err.status === 404) dropSession();
        showError(errorKey(err));
      });
    }
  }

  function close() {
    if (!ui || ui.panel.hidden) return;
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    applyLanguage();
    ui.launcher.focus();
  }

  function init() {
    try {
      ui = build();
      applyLanguage();
    } catch (e) {
      ui = null; // never break the page (very old browsers without Shadow DOM)
    }
  }

  window.JasPing = Object.freeze({
    version: '1',
    open: function () { try { open(); } catch (e) { /* never throw into the page */ } },
    close: function () { try { close(); } catch (e) { /* never throw into the page */ } }
  });
  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
