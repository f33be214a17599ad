/*! shiren jsvm_all.js (Apache-2.0): a drop-in for Alibaba Cloud's jsvm_all.js (H5/PC face verification).
 *
 *   <script src="https://SHIREN/jsvm_all.js"></script>
 *   const metaInfo = getMetaInfo();   // a JSON string; send it to your server, which passes it as
 *                                     // MetaInfo to InitFaceVerify, exactly as with Alibaba's script
 *
 * What it is: one global function, window.getMetaInfo(), returning JSON.stringify of a flat object with
 * Alibaba's eight keys, every value a string, the whole well under 1 KB:
 *   zimVer       "3.0.0"
 *   appVersion   "1"
 *   bioMetaInfo  "4.1.0:gum=G,mr=M,gl=W" -- shiren's own, readable format (Alibaba's is opaque): the
 *                "4.1.0:" prefix, then 1 or 0 for whether this browser exposes, in this order,
 *                navigator.mediaDevices.getUserMedia (gum), MediaRecorder (mr) and WebGLRenderingContext
 *                (gl). Only that the API exists is checked: nothing is opened, no camera is asked for.
 *   appName      location.hostname of the page
 *   deviceType   "h5" on a phone or tablet, "web" otherwise (a simple check, not device detection)
 *   osVersion    a short parse of the user agent ("Android 14", "iOS 17.4", "Windows NT 10.0",
 *                "macOS 10.15.7", "ChromeOS", "Linux"), else navigator.userAgentData.platform, else ""
 *   apdidToken   "" -- Alibaba's device fingerprint; shiren has none and computes none
 *   deviceModel  the model an Android user agent names, "iPhone"/"iPad"/"iPod", or the first word of the
 *                user agent's platform comment ("Macintosh", "X11", ...); at most 64 characters
 *
 * What it does not do: no fingerprinting, no network requests, no cookies, no storage, no timers, no
 * other globals, no dependencies. Plain ES2017. The server (shiren.domain.metainfo) treats every value
 * as an untrusted device descriptor.
 */
(function (global) {
  'use strict';

  const MAX_LEN = 64;

  function clean(value, max) {
    // Printable characters only, trimmed and capped, so every value stays a short plain string.
    return String(value || '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, max);
  }

  function userAgent() {
    return (global.navigator && global.navigator.userAgent) || '';
  }

  function uaData() {
    return (global.navigator && global.navigator.userAgentData) || null;
  }

  function has(flag) {
    return flag ? '1' : '0';
  }

  function bioMetaInfo() {
    const nav = global.navigator || {};
    const gum = !!(nav.mediaDevices && typeof nav.mediaDevices.getUserMedia === 'function');
    const mr = typeof global.MediaRecorder === 'function';
    const gl = typeof global.WebGLRenderingContext === 'function';
    return '4.1.0:gum=' + has(gum) + ',mr=' + has(mr) + ',gl=' + has(gl);
  }

  function isMobile(ua) {
    const data = uaData();
    if (data && typeof data.mobile === 'boolean' && data.mobile) return true;
    if (/Mobi|Android|iPhone|iPad|iPod/i.test(ua)) return true;
    // iPadOS asks for desktop pages by default and then calls itself a Macintosh.
    return /Macintosh/.test(ua) && !!global.navigator && global.navigator.maxTouchPoints > 1;
  }

  function osVersion(ua) {
    let m;
    if ((m = /Android\s+([\d.]+)/.exec(ua))) return 'Android ' + m[1];
    if ((m = /(?:iPhone|iPad|iPod).*? OS (\d+(?:_\d+)*)/.exec(ua))) return 'iOS ' + m[1].replace(/_/g, '.');
    if ((m = /Windows NT ([\d.]+)/.exec(ua))) return 'Windows NT ' + m[1];
    if ((m = /Mac OS X (\d+(?:[._]\d+)*)/.exec(ua))) return 'macOS ' + m[1].replace(/_/g, '.');
    if (/CrOS/.test(ua)) return 'ChromeOS';
    if (/Linux/.test(ua)) return 'Linux';
    const data = uaData();
    return (data && data.platform) || '';
  }

  function deviceModel(ua) {
    let m;
    if ((m = /Android[^;)]*;\s*([^;)]+?)(?:\s+Build\/[^;)]*)?\s*[;)]/.exec(ua)) && m[1] !== 'wv') return m[1];
    if ((m = /\b(iPhone|iPad|iPod)\b/.exec(ua))) return m[1];
    if ((m = /\(\s*([^;)\s]+)/.exec(ua))) return m[1];
    return '';
  }

  function getMetaInfo() {
    const ua = userAgent();
    const host = (global.location && global.location.hostname) || '';
    return JSON.stringify({
      zimVer: '3.0.0',
      appVersion: '1',
      bioMetaInfo: bioMetaInfo(),
      appName: clean(host, 253),
      deviceType: isMobile(ua) ? 'h5' : 'web',
      osVersion: clean(osVersion(ua), MAX_LEN),
      apdidToken: '',
      deviceModel: clean(deviceModel(ua), MAX_LEN),
    });
  }

  global.getMetaInfo = getMetaInfo;
})(typeof window !== 'undefined' ? window : this);
