// KeyNest dashboard: progressive enhancement only. Every page works without this file except
// revealing and copying a value. Loaded from /assets (the Content-Security-Policy allows no
// inline script); values are put into the page with textContent, never as HTML.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';

  function fetchValue(url) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-CSRF-Token': csrf }
    }).then(function (r) {
      if (!r.ok) { throw new Error(r.status === 403 ? 'not allowed' : 'error ' + r.status); }
      return r.text();
    });
  }

  function say(button, text) {
    var old = button.getAttribute('data-label') || button.textContent;
    button.setAttribute('data-label', old);
    button.textContent = text;
    setTimeout(function () { button.textContent = old; }, 1500);
  }

  function copy(text, button) {
    var done = function () { say(button, 'Copied'); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }

  // Plain http on another host has no async clipboard: a hidden textarea and execCommand.
  function fallback(text) {
    var t = document.createElement('textarea');
    t.value = text;
    t.setAttribute('readonly', '');
    t.className = 'offscreen';
    document.body.appendChild(t);
    t.select();
    try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(t);
  }

  document.addEventListener('click', function (ev) {
    var reveal = ev.target.closest('button[data-reveal]');
    if (reveal) {
      var cell = reveal.parentElement.querySelector('[data-value]');
      if (reveal.getAttribute('aria-pressed') === 'true') {
        cell.textContent = '••••••••';
        cell.classList.add('masked');
        reveal.textContent = 'Reveal';
        reveal.setAttribute('aria-pressed', 'false');
        return;
      }
      fetchValue(reveal.getAttribute('data-reveal')).then(function (value) {
        cell.textContent = value;
        cell.classList.remove('masked');
        cell.classList.add('revealed');
        reveal.textContent = 'Hide';
        reveal.setAttribute('aria-pressed', 'true');
      }, function (e) { say(reveal, 'Refused: ' + e.message); });
      return;
    }
    var copyButton = ev.target.closest('button[data-copy]');
    if (copyButton) {
      fetchValue(copyButton.getAttribute('data-copy')).then(function (value) {
        copy(value, copyButton);
      }, function (e) { say(copyButton, 'Refused: ' + e.message); });
      return;
    }
    var from = ev.target.closest('button[data-copy-from]');
    if (from) {
      var source = document.getElementById(from.getAttribute('data-copy-from'));
      if (source) { copy(source.textContent, from); }
    }
  });

  document.addEventListener('submit', function (ev) {
    var message = ev.target.getAttribute('data-confirm');
    if (message && !window.confirm(message)) { ev.preventDefault(); }
  });

  var filter = document.getElementById('filter');
  if (filter) {
    var rows = document.querySelectorAll('#vars tbody tr[data-key]');
    var count = document.getElementById('count');
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = rows[i].getAttribute('data-key').indexOf(q) !== -1;
        rows[i].hidden = !hit;
        if (hit) { shown++; }
      }
      if (count) { count.textContent = shown + ' of ' + rows.length + ' variables'; }
    });
    // "/" jumps to the search box, as on many sites.
    document.addEventListener('keydown', function (ev) {
      var tag = (ev.target.tagName || '').toLowerCase();
      if (ev.key === '/' && tag !== 'input' && tag !== 'textarea' && tag !== 'select') {
        ev.preventDefault();
        filter.focus();
      }
    });
  }
})();
