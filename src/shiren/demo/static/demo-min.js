/* The demo's RPMin page: upload the photos to the demo server, then ask it to call VerifyMaterial. */
(function () {
  'use strict';

  const form = document.getElementById('min-form');
  const status = document.getElementById('min-status');

  async function upload(input) {
    const file = input.files && input.files[0];
    if (!file) return null;
    const response = await fetch('/demo/files', { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
    const body = await response.json();
    if (!response.ok) throw new Error(input.labels[0].textContent + ': ' + body.error);
    return body.id;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    status.textContent = 'Uploading…';
    try {
      const ids = {};
      for (const name of ['face', 'front', 'back']) ids[name] = await upload(form.elements[name]);
      status.textContent = 'Verifying (VerifyMaterial)…';
      const response = await fetch('/demo/min', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: form.elements.name.value, idNumber: form.elements.idNumber.value, face: ids.face, front: ids.front, back: ids.back }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error);
      window.location.assign('/demo/done?bizId=' + encodeURIComponent(body.bizId));
    } catch (err) {
      status.textContent = 'Failed: ' + err.message;
      button.disabled = false;
    }
  });
})();
