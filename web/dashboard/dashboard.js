/* townhall councillors' dashboard.
 *
 * Signed in with a staff token that lives only in this script's memory (no
 * cookie, no storage): every API call carries it as a Bearer token. Data is
 * written into the page with textContent and DOM APIs only, never as HTML,
 * so whatever a resident typed stays text. Views follow the URL's hash:
 * #ideas, #idea/ID, #moderation, #feedback. */
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var STATUS = {
    pending: 'Pending moderation', published: 'Published', under_review: 'Under review',
    accepted: 'Accepted', in_progress: 'In progress', done: 'Done', declined: 'Declined',
    hidden: 'Hidden', withdrawn: 'Withdrawn', merged: 'Merged'
  };
  var TITLES = { 'sign-in': 'Sign in', ideas: 'Proposals', idea: 'Proposal',
    moderation: 'Moderation queue', feedback: 'Page feedback' };
  var site = null;
  var token = null;
  var ideaRows = [];
  var ideasCursor = null;
  var pageRows = [];
  var pagesCursor = null;
  var current = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { e.append(c); });
    return e;
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  function say(s) {
    $('status').textContent = '';
    setTimeout(function () { $('status').textContent = s; }, 50);
  }

  function fmt(n) { return n == null ? '–' : String(n); }
  function day(iso) { return iso ? iso.slice(0, 10) : ''; }

  /* ---- the API ---------------------------------------------------------- */

  function call(path, opts) {
    opts = opts || {};
    var h = { Authorization: 'Bearer ' + token };
    if (opts.body) h['Content-Type'] = 'application/json';
    return fetch('/v1/sites/' + encodeURIComponent(site) + path, {
      method: opts.method || 'GET', headers: h, credentials: 'omit', cache: 'no-store',
      body: opts.body ? JSON.stringify(opts.body) : undefined
    }).then(function (r) {
      if (r.ok) return opts.raw ? r : r.json();
      return r.json().catch(function () { return {}; }).then(function (p) {
        if (r.status === 401 && !opts.signIn) signOut('Your token was not accepted any more: sign in again.');
        var e = new Error(p.detail || p.title || 'The server answered ' + r.status + '.');
        e.status = r.status;
        throw e;
      });
    });
  }

  function query(params) {
    var q = [];
    for (var k in params) {
      if (params[k] !== '' && params[k] != null) q.push(k + '=' + encodeURIComponent(params[k]));
    }
    return q.length ? '?' + q.join('&') : '';
  }

  /* Fetches a CSV with the token and hands it to the browser as a file. */
  function download(path, fallback) {
    return call(path, { raw: true }).then(function (r) {
      var cd = r.headers.get('Content-Disposition') || '';
      var m = /filename="([^"]+)"/.exec(cd);
      return r.blob().then(function (b) {
        var a = el('a', { href: URL.createObjectURL(b), download: m ? m[1] : fallback });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
        say('Download started: ' + (m ? m[1] : fallback) + '.');
      });
    }, function (e) { say('The download failed: ' + e.message); });
  }

  /* ---- charts: SVG, with the same numbers in the table beside ----------- */

  /* A label that fits: the start of a title, or the end of an address. */
  function short(s, n, end) {
    if (s.length <= n) return s;
    return end ? '…' + s.slice(s.length - n + 1) : s.slice(0, n - 1) + '…';
  }

  /* Horizontal bars, two per row (for / against). rows: [{label, a, b}]. */
  function bars(box, captionId, rows, names, end) {
    box.textContent = '';
    var rowH = 34, left = 190, width = 560, barW = width - left - 40;
    var max = Math.max.apply(null, rows.map(function (r) { return Math.max(r.a, r.b); }).concat([1]));
    var h = rows.length * rowH + 30;
    var s = svg('svg', { viewBox: '0 0 ' + width + ' ' + h, role: 'img', 'aria-labelledby': captionId, 'class': 'bars' });
    s.append(svg('rect', { x: left, y: 4, width: 12, height: 12, 'class': 'a' }),
      svg('text', { x: left + 18, y: 15 }, names[0]),
      svg('rect', { x: left + 130, y: 4, width: 12, height: 12, 'class': 'b' }),
      svg('text', { x: left + 148, y: 15 }, names[1]));
    rows.forEach(function (r, i) {
      var y = 26 + i * rowH;
      s.append(svg('text', { x: left - 8, y: y + 16, 'text-anchor': 'end' }, short(r.label, 24, end)));
      [['a', r.a, 0], ['b', r.b, 14]].forEach(function (v) {
        var w = Math.max(v[1] / max * barW, v[1] ? 2 : 0);
        s.append(svg('rect', { x: left, y: y + v[2], width: w, height: 12, 'class': v[0] }),
          svg('text', { x: left + w + 4, y: y + v[2] + 11, 'class': 'v' }, String(v[1])));
      });
    });
    if (!rows.length) s.append(svg('text', { x: left, y: 45 }, 'Nothing to show'));
    box.append(s);
  }

  /* Grouped columns per day (for / against). */
  function columns(box, captionId, days) {
    box.textContent = '';
    var width = 560, height = 220, top = 24, bottom = 30, left = 40;
    var max = Math.max.apply(null, days.map(function (d) { return Math.max(d.up, d.down); }).concat([1]));
    var s = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-labelledby': captionId, 'class': 'bars' });
    var plot = height - top - bottom;
    s.append(svg('line', { x1: left, y1: top + plot, x2: width - 10, y2: top + plot, 'class': 'axis' }),
      svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, String(max)),
      svg('text', { x: left - 6, y: top + plot, 'text-anchor': 'end' }, '0'),
      svg('rect', { x: left, y: 2, width: 12, height: 12, 'class': 'a' }),
      svg('text', { x: left + 18, y: 13 }, 'For'),
      svg('rect', { x: left + 80, y: 2, width: 12, height: 12, 'class': 'b' }),
      svg('text', { x: left + 98, y: 13 }, 'Against'));
    var slot = (width - left - 10) / Math.max(days.length, 1);
    var bw = Math.min(24, slot / 2.5);
    var every = Math.ceil(days.length / 8);
    days.forEach(function (d, i) {
      var x = left + i * slot + slot / 2;
      [['a', d.up, -bw], ['b', d.down, 0]].forEach(function (v) {
        var hh = v[1] / max * plot;
        s.append(svg('rect', { x: x + v[2], y: top + plot - hh, width: bw, height: hh, 'class': v[0] }));
      });
      if (i % every === 0) s.append(svg('text', { x: x, y: height - 10, 'text-anchor': 'middle' }, d.day.slice(5)));
    });
    if (!days.length) s.append(svg('text', { x: left + 10, y: top + 40 }, 'No votes yet'));
    box.append(s);
  }

  function fill(tbody, rows, empty) {
    tbody.textContent = '';
    if (!rows.length && empty) {
      var cols = tbody.parentNode.tHead.rows[0].cells.length;
      tbody.append(el('tr', {}, [el('td', { colspan: cols, text: empty })]));
    }
    rows.forEach(function (cells) {
      tbody.append(el('tr', {}, cells.map(function (c, i) {
        if (c instanceof Node) return el(i ? 'td' : 'th', i ? {} : { scope: 'row' }, [c]);
        if (c && typeof c === 'object') return el('td', { 'class': 'num', text: c.n });
        return el(i ? 'td' : 'th', typeof c === 'number' ? { 'class': 'num', text: String(c) }
          : i ? { text: c == null ? '–' : String(c) } : { scope: 'row', text: String(c) });
      })));
    });
  }

  /* ---- proposals --------------------------------------------------------- */

  function filters() {
    var f = $('filters').elements;
    var to = f.to.value;
    if (to) {
      // The API's upper bound is exclusive: "to" here includes the day.
      var d = new Date(to + 'T00:00:00Z');
      d.setUTCDate(d.getUTCDate() + 1);
      to = d.toISOString().slice(0, 10);
    }
    return { status: f.status.value, ward: f.ward.value.trim(), category: f.category.value.trim(),
      from: f.from.value, to: to, sort: f.sort.value };
  }

  function loadIdeas(more) {
    var p = filters();
    p.limit = 50;
    if (more) p.cursor = ideasCursor;
    return call('/ideas' + query(p)).then(function (d) {
      ideaRows = more ? ideaRows.concat(d.items) : d.items;
      ideasCursor = d.next_cursor;
      $('ideas-more').hidden = !ideasCursor;
      var n = ideaRows.length;
      $('ideas-count').textContent = n === 1 ? '1 proposal shown.' : n + ' proposals shown' + (ideasCursor ? ' (more below).' : '.');
      say($('ideas-count').textContent);
      fill($('ideas-table').tBodies[0], ideaRows.map(function (i) {
        return [el('a', { href: '#idea/' + i.id, dir: 'auto', text: i.title }), STATUS[i.status] || i.status,
          i.ward, i.category, i.votes.up + i.votes.anon_up, i.votes.down + i.votes.anon_down, day(i.created)];
      }), 'No proposals match these filters.');
      var top = ideaRows.slice(0, 10).map(function (i) {
        return { label: i.title, a: i.votes.up + i.votes.anon_up, b: i.votes.down + i.votes.anon_down };
      });
      bars($('ideas-chart'), 'ideas-chart-caption', top, ['For', 'Against']);
      fill($('ideas-chart-table').tBodies[0], top.map(function (r) { return [r.label, r.a, r.b]; }), 'None.');
    }, function (e) {
      $('ideas-count').textContent = 'The proposals could not be loaded: ' + e.message;
    });
  }

  /* ---- one proposal ------------------------------------------------------- */

  function loadIdea(id, keep) {
    if (!keep) {
      ['status-saved', 'status-error', 'moderate-done', 'moderate-error'].forEach(function (x) { $(x).hidden = true; });
    }
    return Promise.all([call('/ideas/' + id), call('/ideas/' + id + '/history')]).then(function (r) {
      var i = r[0];
      current = i;
      $('idea-title').textContent = i.title;
      document.title = i.title + ' – Councillors’ dashboard – townhall';
      var facts = $('idea-facts');
      facts.textContent = '';
      [['Status', STATUS[i.status] || i.status], ['Ward', i.ward || '–'], ['Category', i.category || '–'],
        ['Consultation', i.consultation], ['Proposed', day(i.created)],
        ['For', String(i.votes.up) + (i.votes.anon_up ? ' (and ' + i.votes.anon_up + ' anonymous)' : '')],
        ['Against', String(i.votes.down) + (i.votes.anon_down ? ' (and ' + i.votes.anon_down + ' anonymous)' : '')]
      ].concat(i.merged_into ? [['Merged into', 'Proposal ' + i.merged_into]] : [],
        // What residents see, as the server decides it (a pending proposal
        // merged away is never shown to them).
        [['Shown to residents', i.public === false ? 'No' : 'Yes']]
      ).forEach(function (f) { facts.append(el('dt', { text: f[0] }), el('dd', { text: f[1] })); });
      $('idea-body').textContent = i.body || '(No description.)';
      var f = $('status-form').elements;
      f.status.value = STATUS[i.status] && f.status.querySelector('option[value="' + i.status + '"]') ? i.status : 'published';
      f.response.value = i.response ? i.response.text : '';
      var shown = i.status !== 'pending' && i.status !== 'hidden' && i.status !== 'withdrawn' && i.status !== 'merged';
      $('m-hide').hidden = !shown;
      $('m-publish').hidden = !(i.status === 'pending' || i.status === 'hidden');
      $('moderate-section').hidden = $('m-hide').hidden && $('m-publish').hidden;
      var days = r[1].days;
      columns($('history-chart'), 'history-chart-caption', days);
      fill($('history-table').tBodies[0], days.map(function (d) { return [d.day, d.up, d.down]; }), 'No votes yet.');
    }, function (e) {
      $('idea-title').textContent = 'Proposal not found';
      $('idea-body').textContent = e.message;
    });
  }

  function saveStatus(e) {
    e.preventDefault();
    var f = $('status-form').elements;
    $('status-saved').hidden = true;
    $('status-error').hidden = true;
    call('/ideas/' + current.id + '/status', { method: 'POST',
      body: { status: f.status.value, response: f.response.value } }).then(function () {
      $('status-saved').hidden = false;
      say($('status-saved').textContent);
      return loadIdea(current.id, true);
    }, function (err) {
      $('status-error').textContent = 'Not saved: ' + err.message;
      $('status-error').hidden = false;
      $('status-error').setAttribute('tabindex', '-1');
      $('status-error').focus();
    });
  }

  function moderate(e) {
    e.preventDefault();
    var f = $('moderate-form');
    var action = e.submitter ? e.submitter.value : 'hide';
    $('moderate-done').hidden = true;
    $('moderate-error').hidden = true;
    call('/ideas/' + current.id + '/moderation', { method: 'POST',
      body: { action: action, reason: f.elements.reason.value.trim() } }).then(function () {
      f.reset();
      $('moderate-done').textContent = action === 'hide' ? 'Hidden: residents no longer see this proposal.'
        : 'Published: residents see this proposal again.';
      $('moderate-done').hidden = false;
      say($('moderate-done').textContent);
      return loadIdea(current.id, true);
    }, function (err) {
      $('moderate-error').textContent = 'Not done: ' + err.message;
      $('moderate-error').hidden = false;
    });
  }

  /* ---- moderation --------------------------------------------------------- */

  function loadModeration() {
    return call('/ideas?status=pending&sort=new&limit=100').then(function (d) {
      var list = $('moderation-list');
      list.textContent = '';
      $('moderation-empty').hidden = d.items.length > 0;
      d.items.forEach(function (i) { list.append(moderationItem(i)); });
    }, function (e) { say('The queue could not be loaded: ' + e.message); });
  }

  function moderationItem(i) {
    var id = 'm' + i.id;
    var err = el('p', { 'class': 'error', hidden: '' });
    var form = el('form', { 'class': 'stack' }, [
      err,
      el('label', { 'for': id + 'r', text: 'Reason (kept in the audit log)' }),
      el('input', { id: id + 'r', name: 'reason', type: 'text', required: '', maxlength: 500, autocomplete: 'off' }),
      el('label', { 'for': id + 'i', text: 'Merge into proposal number (for a merge only)' }),
      el('input', { id: id + 'i', name: 'into', type: 'number', min: 1, inputmode: 'numeric' }),
      el('div', { 'class': 'actions' }, [
        el('button', { type: 'submit', name: 'action', value: 'publish', 'class': 'primary', text: 'Publish' }),
        el('button', { type: 'submit', name: 'action', value: 'reject', text: 'Reject' }),
        el('button', { type: 'submit', name: 'action', value: 'merge', text: 'Merge' })
      ])
    ]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var action = e.submitter ? e.submitter.value : 'publish';
      var body = { action: action, reason: form.elements.reason.value.trim() };
      if (action === 'merge') body.into = parseInt(form.elements.into.value, 10) || 0;
      call('/ideas/' + i.id + '/moderation', { method: 'POST', body: body }).then(function () {
        say('“' + i.title + '”: ' + action + ' done.');
        return loadModeration().then(function () { $('view-moderation').querySelector('h1').focus(); });
      }, function (x) {
        err.textContent = 'Not done: ' + x.message;
        err.hidden = false;
      });
    });
    var h = el('h2', { dir: 'auto', text: i.title });
    return el('li', { 'class': 'card' }, [h,
      el('p', { 'class': 'meta', text: 'Number ' + i.id + ' · ' + (i.category || 'no category') + ' · ' + (i.ward || 'no ward') + ' · proposed ' + day(i.created) }),
      el('p', { 'class': 'prose', dir: 'auto', text: i.body || '(No description.)' }),
      form]);
  }

  /* ---- page feedback ------------------------------------------------------- */

  function loadPages(more) {
    return call('/feedback/pages' + query({ sort: 'worst', limit: 50, cursor: more ? pagesCursor : '' })).then(function (d) {
      pageRows = more ? pageRows.concat(d.items) : d.items;
      pagesCursor = d.next_cursor;
      $('pages-more').hidden = !pagesCursor;
      fill($('pages-table').tBodies[0], pageRows.map(function (p) {
        var b = el('button', { type: 'button', 'class': 'link', text: p.page });
        b.addEventListener('click', function () { loadComments(p.page); });
        return [b, p.yes, p.no, { n: p.useful_lower == null ? '–' : Math.round(p.useful_lower * 100) + '%' },
          { n: p.rating_mean == null || !p.rating_count ? '–' : p.rating_mean.toFixed(1) }, p.comments];
      }), 'No feedback yet.');
      var top = pageRows.slice(0, 10).map(function (p) {
        return { label: p.page.replace(/^https?:\/\//, ''), a: p.yes, b: p.no };
      });
      bars($('pages-chart'), 'pages-chart-caption', top, ['Useful', 'Not useful'], true);
      fill($('pages-chart-table').tBodies[0], top.map(function (r) { return [r.label, r.a, r.b]; }), 'None.');
    }, function (e) { say('The pages could not be loaded: ' + e.message); });
  }

  function loadComments(page) {
    return call('/feedback/comments' + query({ page: page, limit: 200 })).then(function (d) {
      $('comments').hidden = false;
      $('comments-title').textContent = 'Comments on ' + page;
      var list = $('comments-list');
      list.textContent = '';
      if (!d.items.length) list.append(el('li', { text: 'No comments on this page.' }));
      d.items.forEach(function (c) {
        list.append(el('li', { 'class': 'card' }, [
          el('p', { 'class': 'meta', text: c.day + ' · ' + (c.useful ? 'useful' : 'not useful') +
            (c.rating ? ' · rated ' + c.rating + ' out of 5' : '') }),
          el('p', { 'class': 'prose', dir: 'auto', text: c.text })
        ]));
      });
      $('comments-title').focus();
    }, function (e) { say('The comments could not be loaded: ' + e.message); });
  }

  /* ---- signing in and out, and the views ---------------------------------- */

  function signIn(e) {
    e.preventDefault();
    var f = $('sign-in-form').elements;
    var err = $('sign-in-error');
    err.hidden = true;
    site = f.site.value.trim();
    token = f.token.value.trim();
    call('/feedback/pages?limit=1', { signIn: true }).then(function () {
      f.token.value = '';
      $('nav').hidden = false;
      $('site-name').textContent = '· ' + site;
      if (!route()) location.hash = '#ideas';
    }, function (x) {
      token = null;
      err.textContent = x.status === 401 ? 'That token was not accepted. Check it and try again.'
        : x.status === 403 ? 'That token is for another site.'
          : x.status === 404 ? 'There is no site called “' + site + '”.' : x.message;
      err.hidden = false;
      err.setAttribute('tabindex', '-1');
      err.focus();
    });
  }

  function signOut(why) {
    token = null;
    ideaRows = [];
    pageRows = [];
    current = null;
    // Nothing read with the token stays in the page after it is gone.
    Array.prototype.forEach.call(document.querySelectorAll(
      '.view tbody, #moderation-list, #comments-list, #idea-facts, #idea-body, #ideas-chart, #pages-chart, #history-chart, #ideas-count'),
    function (e) { e.textContent = ''; });
    $('status-form').reset();
    $('nav').hidden = true;
    $('site-name').textContent = '';
    show('sign-in');
    if (typeof why === 'string') {
      $('sign-in-error').textContent = why;
      $('sign-in-error').hidden = false;
    }
  }

  function show(name, quiet) {
    Array.prototype.forEach.call(document.querySelectorAll('.view'), function (v) {
      v.hidden = v.id !== 'view-' + name;
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-nav]'), function (a) {
      if (a.getAttribute('data-nav') === name || (name === 'idea' && a.getAttribute('data-nav') === 'ideas')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    document.title = TITLES[name] + ' – Councillors’ dashboard – townhall';
    var h = $('view-' + name).querySelector('h1');
    if (h && !quiet) h.focus();
  }

  /* Shows the view the hash names; false if it names none. */
  function route() {
    var h = location.hash.slice(1);
    if (!token) {
      show('sign-in');
      return true;
    }
    var m = /^idea\/(\d+)$/.exec(h);
    if (m) {
      show('idea');
      loadIdea(m[1]);
    } else if (h === 'ideas') {
      show('ideas');
      loadIdeas(false);
    } else if (h === 'moderation') {
      show('moderation');
      loadModeration();
    } else if (h === 'feedback') {
      show('feedback');
      $('comments').hidden = true;
      loadPages(false);
    } else {
      return false;
    }
    return true;
  }

  function start() {
    var q = new URLSearchParams(location.search);
    $('sign-in-site').value = q.get('site') || '';
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', function () { signOut(); location.hash = ''; });
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); loadIdeas(false); });
    $('ideas-more').addEventListener('click', function () { loadIdeas(true); });
    $('pages-more').addEventListener('click', function () { loadPages(true); });
    $('ideas-csv').addEventListener('click', function () {
      var p = filters();
      p.format = 'csv';
      download('/ideas' + query(p), site + '-ideas.csv');
    });
    $('pages-csv').addEventListener('click', function () {
      download('/feedback/pages?format=csv', site + '-pages.csv');
    });
    $('status-form').addEventListener('submit', saveStatus);
    $('moderate-form').addEventListener('submit', moderate);
    window.addEventListener('hashchange', route);
    show('sign-in', true);
  }

  start();
})();
