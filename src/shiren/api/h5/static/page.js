/*! shiren hosted H5 page (Apache-2.0): runs the SDK with the token from the URL, then goes back.
 *
 * successRedirect / failRedirect come from the page URL (the integrator appends them, encoded with
 * encodeURIComponent). The server checks them against the scene's allowed origins and answers with the
 * redirectUrl to use; the SDK's result screen (redirect: true) only ever navigates to that http(s) URL,
 * never to this page's own parameters: at once on "Continue", by itself only after a pass.
 */
(function () {
  'use strict';

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
      redirect: true,
    }).then(function (outcome) {
      document.body.setAttribute('data-shiren-done', String(outcome.state));
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
