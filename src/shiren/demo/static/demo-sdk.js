/* The demo's SDK page: get a token from the demo server, run Shiren.start, then ask the server. */
(function () {
  'use strict';

  const startBtn = document.getElementById('sdk-start');
  const status = document.getElementById('sdk-status');
  const outcomeBox = document.getElementById('sdk-outcome');

  async function run() {
    startBtn.disabled = true;
    status.textContent = 'Asking the demo server for a VerifyToken…';
    let issued;
    try {
      const response = await fetch('/demo/sdk/token', { method: 'POST', credentials: 'same-origin' });
      issued = await response.json();
      if (!response.ok) throw new Error(issued.error || response.statusText);
    } catch (err) {
      status.textContent = 'Could not get a token: ' + err.message;
      startBtn.disabled = false;
      return;
    }
    status.textContent = '';
    startBtn.hidden = true;
    const outcome = await window.Shiren.start({ token: issued.token, container: document.getElementById('sdk-container') });
    document.getElementById('sdk-outcome-json').textContent = JSON.stringify(outcome, null, 2);
    document.getElementById('sdk-server-link').href = '/demo/done?bizId=' + encodeURIComponent(issued.bizId);
    document.body.setAttribute('data-sdk-state', String(outcome.state));
    outcomeBox.hidden = false;
  }

  startBtn.addEventListener('click', run);
})();
