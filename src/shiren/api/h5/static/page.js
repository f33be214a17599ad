/*! shiren hosted H5 page (Apache-2.0): runs the SDK with the token from the URL, then goes back.
 *
 * successRedirect / failRedirect come from the page URL (the integrator appends them, encoded with
 * encodeURIComponent). The server checks them against the scene's allowed origins and answers with the
 * redirectUrl to use; this page only ever navigates to that http(s) URL, never to its own parameters.
 */
(function () {
  'use strict';

  const REDIRECT_DELAY_MS = 1500;
  const params = new URLSearchParams(window.location.search);
  const root = document.getElementById('shiren-root');

  function main() {
    const locale = params.get('locale') || undefined;
    if (locale) document.documentElement.lang = locale;
    else if (!String(navigator.language || '').toLowerCase().startsWith('zh')) document.documentElement.lang = 'en';
    window.Shiren.start({
      token: params.get('token') || '',
      container: root,
      locale,
      successRedirect: params.get('successRedirect') || undefined,
      failRedirect: params.get('failRedirect') || undefined,
      announceRedirect: true,
    }).then(function (outcome) {
      document.body.setAttribute('data-shiren-done', String(outcome.state));
      if (outcome.redirectUrl) {
        window.setTimeout(function () { window.location.assign(outcome.redirectUrl); }, REDIRECT_DELAY_MS);
      }
    }, function (err) {
      document.body.setAttribute('data-shiren-done', 'error');
      const p = document.createElement('p');
      p.setAttribute('role', 'alert');
      p.textContent = String(err && err.message ? err.message : err);
      root.textContent = '';
      root.appendChild(p);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
