/* townhall's feedback and ideas widgets (docs/embedding.md). No cookies, no
 * storage, no eval, nothing inline; tokens and handles in memory only. */
(function () {
  'use strict';
  var me = document.currentScript;
  var base = me ? me.src.replace(/[^/]*$/, '') : '/';
  var api = new URL(base, location.href).origin;
  // SRI of what this script loads: the page's hash covers them too.
  var SRI = {
    css: 'sha256-sWs5CjivoraKYQTxfSO0hlQ8yCfQN7TydA90Flly7XM=',
    en: 'sha256-OplaPMylN7tAJ7Ffrb2xYAjXYP7V1Kr7KWQRwH0SGPA=', cy: 'sha256-zeiYErKDeKqsNoi90l9krtSgUSE/JcNmCoA2qWg6suc=', bn: 'sha256-+t7kY9h68TbqgtiJ3b0MLu9hWUcU0dYHFEFW/6innpA=',
    so: 'sha256-WY7G5kEOznLz8vk34Tsv5CCMhaZT5XopMvdguFMn9IU=', ar: 'sha256-/koE7U+EIicjLlwJAm0zuwWd28Ap5RGGC/WFOIZr+Bc='
  };
  var OPEN = { published: 1, under_review: 1 };
  var got = {};
  var all = [];
  var token = null;
  var n = 0;

  function el(tag, a, kids) {
    var e = document.createElement(tag);
    for (var k in a || {}) {
      if (k === 'text') e.textContent = a[k];
      else if (k === 'on') e.addEventListener(a.on[0], a.on[1]);
      else e.setAttribute(k, a[k]);
    }
    (kids || []).forEach(function (c) { e.append(c); });
    return e;
  }

  function lang(node) {
    var l = ((node.closest('[lang]') || {}).lang || 'en').toLowerCase().split(/[-_]/)[0];
    return SRI[l] && l !== 'css' ? l : 'en';
  }

  function strings(l) {
    return got[l] || (got[l] = fetch(base + 'i18n/' + l + '.json', {
      integrity: SRI[l], credentials: 'omit'
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    }));
  }

  function call(method, path, body, headers) {
    var h = headers || {};
    if (body) h['Content-Type'] = 'application/json';
    // Writes need the resident; the ideas list uses it for their own votes.
    if (token) h.Authorization = 'Bearer ' + token;
    return fetch(api + path, {
      method: method, headers: h, credentials: 'omit',
      referrerPolicy: 'no-referrer', body: body && JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    });
  }

  // Sent again (twice at most, same idempotency key) if the network, not
  // the server, failed: the server folds the retry.
  function retried(path, body, headers, n) {
    return call('POST', path, body, headers).catch(function (e) {
      if (e instanceof Response || !n) throw e;
      return new Promise(function (ok) { setTimeout(ok, 1500); }).then(function () {
        return retried(path, body, headers, n - 1);
      });
    });
  }

  function css() {
    if (document.querySelector('link[href$="/widget.css"]')) return;
    document.head.append(el('link', {
      rel: 'stylesheet', href: base + 'widget.css', integrity: SRI.css,
      crossorigin: 'anonymous'
    }));
  }

  function feedback(root, t) {
    var id = 'townhall-fb' + ++n;
    var site = root.getAttribute('data-site');
    var field = root.querySelector('input[name=page]');
    var page = root.getAttribute('data-page') || (field && field.value) ||
      location.href.split('#')[0];
    var useful, busy;
    var live = el('p', { 'class': 'th-live', role: 'status' });
    var box = el('div', { 'class': 'th-fb', lang: t.lang, dir: t.dir });
    var err = el('p', { 'class': 'th-err', hidden: '' });

    function stage(nodes, focus) {
      box.textContent = '';
      nodes.concat(err).forEach(function (c) { box.append(c); });
      box.classList.remove('th-in');
      void box.offsetWidth;
      box.classList.add('th-in');
      if (focus) focus.focus();
    }

    // The answer's handle, in memory only: it alone amends this answer.
    var handle = null;
    var key = Array.from(crypto.getRandomValues(new Uint8Array(16)), function (x) {
      return (x + 256).toString(16).slice(1);
    }).join('');

    function send(body, next) {
      if (busy) return;
      busy = true;
      err.hidden = true;
      body.page = page;
      var h = {};
      if (handle) body.answer = handle;
      else {
        body.useful = useful ? 'yes' : 'no';
        h['Idempotency-Key'] = key;
      }
      retried('/v1/sites/' + encodeURIComponent(site) + '/feedback', body, h, 2).then(function (d) {
        handle = handle || d.answer;
        next();
      }, function () {
        err.textContent = live.textContent = t.error;
        err.hidden = false;
      }).then(function () { busy = false; });
    }

    function ask() {
      stage([
        el('p', { 'class': 'th-h', id: id + 'q', text: t.question }),
        el('div', { 'class': 'th-row', role: 'group', 'aria-labelledby': id + 'q' },
          [[1, t.yes], [0, t.no]].map(function (a) {
            return el('button', { type: 'button', on: ['click', function () {
              useful = a[0];
              send({}, more);
            }] }, [a[1]]);
          }))
      ]);
    }

    function more() {
      var head = el('p', { 'class': 'th-h', tabindex: '-1', text: t.more });
      var fs = el('fieldset', {}, [el('legend', { text: t.rating })]);
      for (var i = 1; i <= 5; i++) {
        fs.append(el('label', { 'class': 'th-opt' }, [
          el('input', { type: 'radio', name: id + 'r', value: i }), ' ',
          el('span', { text: t['rating_' + i] })
        ]));
      }
      var text = el('textarea', { id: id + 'c', rows: 3, maxlength: 2000,
        'aria-describedby': id + 'p' });
      var form = el('form', { novalidate: '', on: ['submit', function (e) {
        e.preventDefault();
        var r = form.querySelector(':checked');
        var c = text.value.trim();
        if ((!r && !c) || !handle) return thanks();
        var m = {};
        if (r) m.rating = +r.value;
        if (c) m.comment = c;
        send(m, thanks);
      }] }, [
        fs,
        el('label', { 'for': id + 'c', text: t.comment }),
        el('p', { 'class': 'th-hint', id: id + 'p', text: t.privacy }),
        text,
        el('button', { type: 'submit', 'class': 'th-btn', text: t.send })
      ]);
      stage([head, form], head);
    }

    function thanks() {
      var done = el('p', { 'class': 'th-h', tabindex: '-1', text: t.thanks });
      stage([done], done);
      live.textContent = t.thanks;
    }

    root.textContent = '';
    root.classList.add('townhall-feedback');
    root.append(live, box);
    ask();
  }

  function ideas(root, t) {
    var id = 'townhall-ideas' + ++n;
    var site = '/v1/sites/' + encodeURIComponent(root.getAttribute('data-site'));
    var path = site + '/ideas';
    // The site's wards and categories, when it has lists of them; without
    // (or if this fails) the form asks for free text, as it always did.
    var lists = null;
    var drawn = 0;
    var level = Math.min(+root.getAttribute('data-heading-level') || 2, 5);
    var limit = +root.getAttribute('data-limit') || 10;
    var sort = 'top';
    var cursor = null;
    var mine = {};
    var live = el('p', { 'class': 'th-live', role: 'status' });
    var list = el('ol');
    var foot = el('div');
    var more = el('button', { type: 'button', hidden: '', text: t.more_ideas,
      on: ['click', function () { load(false); }] });
    var sorts = ['top', 'hot', 'new'].map(function (s) {
      return el('button', { type: 'button', 'aria-pressed': s === sort, text: t['sort_' + s],
        on: ['click', function () {
          sort = s;
          sorts.forEach(function (b, k) { b.setAttribute('aria-pressed', k === ['top', 'hot', 'new'].indexOf(s)); });
          load(true);
        }] });
    });

    function say(s) { live.textContent = s; }

    function load(reset) {
      call('GET', path + '?sort=' + sort + '&limit=' + limit +
        (reset || !cursor ? '' : '&cursor=' + encodeURIComponent(cursor))).then(function (d) {
        if (reset) list.textContent = '';
        d.items.forEach(function (i) {
          if (i.my_vote !== undefined) mine[i.id] = i.my_vote;
          list.append(item(i));
        });
        if (reset && !d.items.length) list.append(el('li', { text: t.none }));
        cursor = d.next_cursor;
        more.hidden = !cursor;
      }, function () {
        if (reset) list.textContent = '';
        list.append(el('li', { 'class': 'th-err', text: t.load_error }));
        say(t.load_error);
      });
    }

    function item(i) {
      // Residents write in any language: let each text find its direction.
      var h = el('h' + (level + 1), { dir: 'auto', text: i.title });
      var count = el('p');
      function counts(v) {
        count.textContent = t.votes.replace('{up}', v.up + v.anon_up)
          .replace('{down}', v.down + v.anon_down);
      }
      counts(i.votes);
      var li = el('li', { 'class': 'th-idea' }, [h,
        el('p', {}, [el('span', { 'class': 'th-status', text: t['status_' + i.status] || i.status })])]);
      if (i.body) li.append(el('p', { dir: 'auto', text: i.body }));
      if (i.response) {
        li.append(el('div', { 'class': 'th-resp' }, [
          el('p', {}, [el('strong', { text: t.response })]),
          el('p', { dir: 'auto', text: i.response.text })
        ]));
      }
      li.append(count);
      if (token && OPEN[i.status]) li.append(votes(i, counts));
      return li;
    }

    function votes(i, counts) {
      var err = el('p', { 'class': 'th-err', hidden: '' });
      var bs = [[1, t.support], [-1, t.oppose], [0, t.withdraw]].map(function (a) {
        return el('button', { type: 'button', on: ['click', function () {
          err.hidden = true;
          call('PUT', path + '/' + i.id + '/vote', { value: a[0] }).then(function (d) {
            counts(d);
            show(d.my_vote);
            if (!d.my_vote) bs[0].focus();
            say(t.voted);
          }, function () {
            err.textContent = t.vote_error;
            err.hidden = false;
            say(t.vote_error);
          });
        }] }, [a[1]]);
      });
      function show(v) {
        mine[i.id] = v;
        bs[0].setAttribute('aria-pressed', v === 1);
        bs[1].setAttribute('aria-pressed', v === -1);
        bs[2].hidden = !v;
      }
      show(mine[i.id] || 0);
      return el('div', {}, [el('div', { 'class': 'th-row', role: 'group',
        'aria-label': t.vote_group.replace('{title}', i.title) }, bs), err]);
    }

    function field(name, label, tag, a, hint) {
      a.id = id + name;
      a.name = name;
      var kids = [el('label', { 'for': a.id, text: label })];
      if (hint) {
        a['aria-describedby'] = a.id + 'h';
        kids.push(el('p', { 'class': 'th-hint', id: a.id + 'h', text: hint }));
      }
      return kids.concat(el(tag, a));
    }

    // One of the site's own list (or none given), else free text.
    function choice(name, label, items) {
      if (!items || !items.length) return field(name, label, 'input', { type: 'text', maxlength: 60 });
      var kids = field(name, label, 'select', {});
      var sel = kids[kids.length - 1];
      sel.append(el('option', { value: '', text: t.not_given }));
      items.forEach(function (v) { sel.append(el('option', { value: v, text: v })); });
      return kids;
    }

    function form() {
      var gen = ++drawn;
      foot.textContent = '';
      if (!token) return foot.append(el('p', { text: t.sign_in }));
      if (!lists) {
        lists = call('GET', site).catch(function () { return {}; });
      }
      lists.then(function (s) {
        if (gen === drawn) draw(s);
      });
    }

    function draw(s) {
      foot.textContent = '';
      var note = el('p', { 'class': 'th-hint' });
      var f = el('form', {}, [el('h' + (level + 1), { text: t.new_idea })]
        .concat(field('title', t.title, 'input', { type: 'text', required: '', minlength: 3, maxlength: 140 }))
        .concat(field('body', t.body, 'textarea', { rows: 4, maxlength: 5000 }, t.privacy))
        .concat(choice('category', t.category, s.categories))
        .concat(choice('ward', t.ward, s.wards))
        .concat(el('button', { type: 'submit', 'class': 'th-btn', text: t.submit }), note));
      f.addEventListener('submit', function (e) {
        e.preventDefault();
        var v = {};
        ['title', 'body', 'category', 'ward'].forEach(function (k) {
          v[k] = f.elements[k].value.trim() || undefined;
        });
        call('POST', path, v).then(function (d) {
          f.reset();
          note.textContent = d.status === 'pending' ? t.submitted_pending : t.submitted;
          say(note.textContent);
          load(true);
        }, function () {
          note.textContent = t.vote_error;
          say(t.vote_error);
        });
      });
      foot.append(f);
    }

    root.textContent = '';
    root.classList.add('townhall-ideas');
    root.append(el('section', { 'class': 'th-ideas', lang: t.lang, dir: t.dir,
      'aria-labelledby': id + 'h' }, [
      el('h' + level, { id: id + 'h', text: t.ideas }),
      el('div', { 'class': 'th-row', role: 'group', 'aria-label': t.sort }, sorts),
      live, list, more, foot
    ]));
    var w = function () {
      mine = {}; // a new resident (or none): no vote of theirs is known yet
      form();
      load(true);
    };
    all.push(w);
    w();
  }

  function start() {
    var roots = document.querySelectorAll('[data-townhall-feedback]:not([data-townhall-ready]),' +
      '[data-townhall-ideas]:not([data-townhall-ready])');
    if (roots.length) css();
    roots.forEach(function (root) {
      var board = root.hasAttribute('data-townhall-ideas');
      root.setAttribute('data-townhall-ready', '');
      if (board && root.getAttribute('data-token')) token = root.getAttribute('data-token');
      // Until the strings arrive (or if they never do) whatever the
      // placeholder holds stays: the feedback form works on its own.
      strings(lang(root)).catch(function () { return strings('en'); }).then(function (t) {
        (board ? ideas : feedback)(root, t);
      }, function () {});
    });
  }

  window.townhall = {
    start: start,
    /* Gives the ideas widgets the resident JWT the council's own sign-in
     * issued (or null to sign out); they redraw with vote buttons and the
     * form for a new idea. */
    setResidentToken: function (jwt) {
      token = jwt || null;
      all.forEach(function (w) { w(); });
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
