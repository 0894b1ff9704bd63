/* The demo council's own script: a stand-in for its sign-in. A council's
 * login would hand the page a resident JWT signed with the site's secret;
 * here townhall serve --demo signs one for a demo resident. The token stays
 * in this page's memory only. */
(function () {
  'use strict';
  var button = document.getElementById('demo-sign-in');
  var who = document.getElementById('demo-who');
  var signedIn = false;
  if (!button) return;
  // Without JavaScript there is nothing to sign in to: the box stays hidden.
  document.getElementById('demo-signin').hidden = false;
  button.addEventListener('click', function () {
    if (signedIn) {
      signedIn = false;
      window.townhall.setResidentToken(null);
      who.textContent = 'You are not signed in: you can read ideas, but not vote.';
      button.textContent = 'Sign in as a demo resident';
      return;
    }
    fetch('/demo/sign-in', { method: 'POST', credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    }).then(function (d) {
      signedIn = true;
      window.townhall.setResidentToken(d.token);
      who.textContent = 'Signed in as a demo resident: you can vote and suggest ideas.';
      button.textContent = 'Sign out';
    }, function () {
      who.textContent = 'Sorry, signing in did not work.';
    });
  });
})();
