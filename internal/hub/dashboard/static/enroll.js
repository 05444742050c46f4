// The enrollment page: asks POST /api/enroll for a code and shows it as
// text, as the command that enrolls a device, and as a QR code.
'use strict';
const $ = (s) => document.querySelector(s);

$('#make').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#error').hidden = true;
  try {
    const r = await fetch('/api/enroll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ device: $('#device').value.trim(), ttl: $('#ttl').value }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    $('#code').textContent = body.code;
    $('#for').textContent = body.device ? 'for ' + body.device : 'for any device id not in use';
    $('#expires').textContent = new Date(body.expires).toLocaleString();
    $('#expires').dateTime = body.expires;
    $('#qr').src = body.qr;
    $('#command').textContent = body.command;
    $('#hub').textContent = body.hub;
    $('#ca').textContent = body.ca;
    $('#result').hidden = false;
  } catch (e) {
    $('#error').textContent = 'No code: ' + e.message;
    $('#error').hidden = false;
  }
});
