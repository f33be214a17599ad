/*! shiren JavaScript SDK v1 (Apache-2.0). No build step, no third-party code.
 *
 *   Shiren.start({token, container, locale?, baseUrl?, successRedirect?, failRedirect?, redirect?})
 *     -> Promise<{state: -1 | 1 | 2, code, message, result, redirectUrl?}>
 *
 *   <link rel="stylesheet" href="https://SHIREN/sdk/v1/shiren.css">
 *   <script src="https://SHIREN/sdk/v1/shiren.js"></script>
 *   Shiren.start({token, container: '#verify'}).then((r) => tellMyServer(r.result));
 *
 * The device is untrusted: this file only guides the user, captures and uploads (docs/device-protocol.md).
 * The verdict is made on the server; the integrator's server reads it with DescribeVerifyResult.
 * Everything is styled by classes from shiren.css, so pages can run under a strict CSP (no inline styles).
 * redirect: true has the result screen take the user to redirectUrl: a "Continue" button at once, and a
 * pass by itself after a short announced countdown; a failure waits for the button, so its explanation can
 * be read. Otherwise the page does what it likes with redirectUrl.
 * baseUrl defaults to the origin this script was loaded from. Needs getUserMedia and MediaRecorder
 * (Chrome/Android WebView 60+, iOS 14.3+); the language features used (async/await, Promise.finally,
 * Array.flat) are older than those.
 */
(function (global) {
  'use strict';

  const VERSION = '1.0.0';
  const SCRIPT_SRC = (global.document && global.document.currentScript && global.document.currentScript.src) || '';

  // ------------------------------------------------------------------------------------------ strings

  const STRINGS = {
    zh: {
      region: '实人认证',
      step_of: '第 {n} 步，共 {total} 步',
      start: '开始',
      cancel: '取消',
      continue: '继续',
      retry: '重试',
      close: '关闭',
      loading: '正在加载…',
      guide_title: '实人认证',
      guide_intro: '接下来我们将确认是您本人在操作。整个过程大约需要一分钟。',
      guide_manual: '填写您的姓名和身份证号码。',
      guide_liveness: '打开前置摄像头，按照屏幕提示完成几个简单动作（例如眨眼、张嘴）。我们会录制一段几秒钟的视频。',
      guide_flash: '录制时屏幕会闪烁几种颜色，请保持面部正对屏幕。',
      guide_idcard: '拍摄身份证的人像面和国徽面。',
      guide_confirm: '核对从身份证上读取的信息。',
      guide_tips: '请在光线充足的地方进行，摘下帽子和口罩，并确保只有您一人在镜头前。',
      privacy_title: '个人信息授权',
      privacy_agree: '我已阅读并同意上述条款，同意处理我的人脸信息（敏感个人信息）',
      privacy_button: '同意并继续',
      privacy_need: '请先勾选同意，才能继续。',
      manual_title: '填写身份信息',
      field_name: '姓名',
      field_id: '身份证号码',
      id_hint_ok: '号码格式正确。',
      id_hint_format: '身份证号码应为 18 位（最后一位可能是 X）。',
      id_hint_checksum: '号码校验位不正确，请检查是否输错。',
      id_hint_date: '号码中的出生日期不正确。',
      name_missing: '请输入姓名。',
      liveness_title: '人脸识别',
      liveness_intro: '请将脸放在椭圆框内，正对屏幕。',
      camera_starting: '正在打开摄像头…',
      hint_no_face: '没有检测到人脸，请将脸对准框内',
      hint_multiple_faces: '检测到多张人脸，请确保只有您一人',
      hint_too_far: '请靠近一点',
      hint_too_close: '请离远一点',
      hint_off_center: '请将脸移到框的中间',
      hint_too_dark: '光线太暗，请到明亮的地方',
      hint_too_bright: '光线太强，请避开强光',
      hint_blurry: '画面模糊，请保持手机稳定',
      hint_hold_still: '请保持不动',
      hint_ok: '很好，请保持',
      manual_start: '准备好后，点击开始录制',
      record_start: '开始录制',
      get_ready: '请看着屏幕',
      action_blink: '请眨眨眼',
      action_open_mouth: '请张张嘴',
      action_turn_left: '请向左转头',
      action_turn_right: '请向右转头',
      action_nod: '请点点头',
      action_nearer: '请将手机靠近',
      action_farther: '请将手机拿远',
      recording: '正在录制',
      uploading: '正在上传…',
      idphoto_front_title: '拍摄身份证人像面',
      idphoto_back_title: '拍摄身份证国徽面',
      idphoto_intro: '将身份证平放在深色桌面上，让证件占满画面，避免反光，四角完整。',
      idphoto_file: '拍照或选择照片',
      idphoto_camera: '使用摄像头拍摄',
      idphoto_take: '拍照',
      idphoto_preview_front: '身份证人像面照片预览',
      idphoto_preview_back: '身份证国徽面照片预览',
      idphoto_use: '使用这张照片',
      idphoto_retake: '重新拍摄',
      idphoto_bad_file: '无法读取这张图片，请换一张照片。',
      confirm_title: '核对身份信息',
      confirm_intro: '以下信息读取自您的身份证，请核对，如有错误请修改。',
      confirm_notfound: '未能读取证件信息，请按证件上的内容手动填写。',
      confirm_check: '请仔细核对此项',
      reading_card: '正在读取证件…',
      checking: '正在认证，请稍候…',
      result_pass_title: '认证通过',
      result_fail_title: '认证未通过',
      result_review_title: '正在人工审核',
      result_review_text: '您的认证需要工作人员复核。复核完成后，发起认证的应用或网站会收到结果。',
      result_pass_text: '您的身份已确认。',
      result_again: '如需重新认证，请返回原来的应用或网站，重新发起认证（本链接不能再次使用）。',
      result_redirect_in: '{n} 秒后自动返回…',
      result_redirect_refused: '返回地址未被允许，因此不会自动跳转。',
      cancelled_title: '已取消认证',
      cancelled_text: '您已取消本次认证。如需认证，请返回原来的应用或网站重新开始。',
      err_title: '出了点问题',
      err_camera_denied: '无法使用摄像头：访问被拒绝。请在浏览器或系统设置中允许本页面使用摄像头，然后重试。',
      err_camera_unavailable: '无法打开摄像头。请确认设备有可用的摄像头且未被其他应用占用，然后重试。',
      err_no_face: '长时间没有检测到您的脸。请在光线充足处，将脸放在框内后重试。',
      err_too_dark: '光线太暗，无法看清您的脸。请到明亮的地方后重试。',
      err_challenge_timeout: '动作录制已超时，请重试。',
      err_challenge_limit: '本次认证的尝试次数已用完。请返回原来的应用或网站，重新发起认证。',
      err_network: '网络连接失败，请检查网络后重试。',
      err_token: '认证链接无效或已过期。请返回原来的应用或网站，重新发起认证。',
      err_server: '服务暂时出现问题，请稍后重试。',
      err_consent: '需要先同意个人信息授权。',
      err_decided: '本次认证已经提交过了。',
      status_2: '姓名和身份证号码不一致。',
      status_3: '身份证照片无法识别，或证件上的姓名与所填不一致。',
      status_4: '身份证照片无法识别，或证件上的号码与所填不一致。',
      status_5: '身份证已过期。',
      status_6: '人脸与身份证照片不是同一人。',
      status_7: '人脸与权威库中的照片不是同一人。',
      status_8: '照片不是身份证原件（可能是屏幕翻拍或复印件）。',
      status_9: '无法确认是本人在镜头前实时操作。',
      status_10: '人脸与留存照片不是同一人。',
      status_11: '缺少可用的权威比对照片。',
      status_12: '比对服务暂时不可用。',
    },
    en: {
      region: 'Identity verification',
      step_of: 'Step {n} of {total}',
      start: 'Start',
      cancel: 'Cancel',
      continue: 'Continue',
      retry: 'Try again',
      close: 'Close',
      loading: 'Loading…',
      guide_title: 'Verify your identity',
      guide_intro: 'Next we will check that it is really you. It takes about a minute.',
      guide_manual: 'Type your name and your ID card number.',
      guide_liveness: 'Your front camera turns on and you follow a few simple prompts (such as blink or open your mouth). We record a video of a few seconds.',
      guide_flash: 'While recording, the screen flashes a few colours: keep your face towards the screen.',
      guide_idcard: 'Take photos of the front and the back of your ID card.',
      guide_confirm: 'Check the details read from your ID card.',
      guide_tips: 'Find a well-lit place, take off hats and masks, and make sure you are alone in front of the camera.',
      privacy_title: 'Your consent',
      privacy_agree: 'I have read the terms above and agree to the processing of my face data (sensitive personal information)',
      privacy_button: 'Agree and continue',
      privacy_need: 'Please tick the box to agree before you continue.',
      manual_title: 'Your details',
      field_name: 'Full name',
      field_id: 'ID card number',
      id_hint_ok: 'The number looks right.',
      id_hint_format: 'The ID number has 18 characters (the last one may be X).',
      id_hint_checksum: 'The check character does not match: please look for a typo.',
      id_hint_date: 'The date of birth in the number is not valid.',
      name_missing: 'Please enter your name.',
      liveness_title: 'Face check',
      liveness_intro: 'Put your face inside the oval and look at the screen.',
      camera_starting: 'Starting the camera…',
      hint_no_face: 'No face found: put your face inside the oval',
      hint_multiple_faces: 'More than one face: make sure you are alone',
      hint_too_far: 'Come a little closer',
      hint_too_close: 'Move a little further away',
      hint_off_center: 'Move your face to the middle of the oval',
      hint_too_dark: 'Too dark: find a brighter place',
      hint_too_bright: 'Too bright: avoid strong light',
      hint_blurry: 'The picture is blurry: hold the phone steady',
      hint_hold_still: 'Hold still',
      hint_ok: 'Good, stay like this',
      manual_start: 'When you are ready, start the recording',
      record_start: 'Start recording',
      get_ready: 'Look at the screen',
      action_blink: 'Blink your eyes',
      action_open_mouth: 'Open your mouth',
      action_turn_left: 'Turn your head to your left',
      action_turn_right: 'Turn your head to your right',
      action_nod: 'Nod your head',
      action_nearer: 'Move the phone closer',
      action_farther: 'Move the phone away',
      recording: 'Recording',
      uploading: 'Uploading…',
      idphoto_front_title: 'Photo of the front of your ID card',
      idphoto_back_title: 'Photo of the back of your ID card',
      idphoto_intro: 'Lay the card flat on a dark surface, fill the frame with it, avoid glare, and keep all four corners in view. The front is the side with your photo.',
      idphoto_file: 'Take or choose a photo',
      idphoto_camera: 'Use the camera',
      idphoto_take: 'Take photo',
      idphoto_preview_front: 'Preview of the front of your ID card',
      idphoto_preview_back: 'Preview of the back of your ID card',
      idphoto_use: 'Use this photo',
      idphoto_retake: 'Take another',
      idphoto_bad_file: 'This file could not be read as a picture: please choose another photo.',
      confirm_title: 'Check your details',
      confirm_intro: 'These details were read from your ID card. Please check them and correct any mistake.',
      confirm_notfound: 'We could not read the card. Please type the details exactly as printed on it.',
      confirm_check: 'Please check this field carefully',
      reading_card: 'Reading your card…',
      checking: 'Checking, please wait…',
      result_pass_title: 'Verification passed',
      result_fail_title: 'Verification not passed',
      result_review_title: 'Being reviewed',
      result_review_text: 'A person needs to look at your verification. The app or website that sent you here will be told the result once they have.',
      result_pass_text: 'Your identity has been confirmed.',
      result_again: 'To try again, go back to the app or website that sent you here and start a new verification (this link cannot be used again).',
      result_redirect_in: 'Taking you back in {n} s…',
      result_redirect_refused: 'The return address was not allowed, so you will not be taken back automatically.',
      cancelled_title: 'Verification cancelled',
      cancelled_text: 'You cancelled this verification. To verify, go back to the app or website that sent you here and start again.',
      err_title: 'Something went wrong',
      err_camera_denied: 'The camera could not be used because access was denied. Allow this page to use the camera in your browser or system settings, then try again.',
      err_camera_unavailable: 'The camera could not be started. Check that your device has a camera that no other app is using, then try again.',
      err_no_face: 'We could not see your face for too long. Find a well-lit place, put your face inside the oval and try again.',
      err_too_dark: 'It is too dark to see your face. Move to a brighter place and try again.',
      err_challenge_timeout: 'The recording took too long. Please try again.',
      err_challenge_limit: 'There have been too many tries for this verification. Go back to the app or website that sent you here and start a new one.',
      err_network: 'The network connection failed. Check your connection and try again.',
      err_token: 'This verification link is invalid or has expired. Go back to the app or website that sent you here and start a new verification.',
      err_server: 'The service had a problem. Please try again in a moment.',
      err_consent: 'Your consent is needed first.',
      err_decided: 'This verification has already been submitted.',
      status_2: 'The name and the ID number do not match.',
      status_3: 'The ID card photo could not be read, or the name on it is different.',
      status_4: 'The ID card photo could not be read, or the number on it is different.',
      status_5: 'The ID card has expired.',
      status_6: 'The face does not match the photo on the ID card.',
      status_7: 'The face does not match the reference photo.',
      status_8: 'The photo does not show an original ID card (it may be a screen or a copy).',
      status_9: 'We could not confirm that it was you, live, in front of the camera.',
      status_10: 'The face does not match the photo on file.',
      status_11: 'No usable reference photo was found.',
      status_12: 'The comparison service was not available.',
    },
  };

  function pickLanguage(locale) {
    const wanted = String(locale || (global.navigator && global.navigator.language) || 'zh').toLowerCase();
    return wanted.startsWith('zh') ? 'zh' : 'en';
  }

  function translator(lang) {
    const table = STRINGS[lang];
    return function t(key, vars) {
      let text = table[key] !== undefined ? table[key] : STRINGS.en[key] !== undefined ? STRINGS.en[key] : key;
      for (const [k, v] of Object.entries(vars || {})) text = text.split('{' + k + '}').join(String(v));
      return text;
    };
  }

  // ------------------------------------------------------------------------------------------ DOM

  let uid = 0;
  function nextId(prefix) {
    uid += 1;
    return 'shiren-' + prefix + '-' + uid;
  }

  /** h('button', {class: 'x', type: 'button', on: {click: fn}}, 'text', child) — never sets style. */
  function h(tag, props, ...children) {
    const el = global.document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'on') {
        for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
      } else if (name === 'text') {
        el.textContent = value;
      } else if (name === 'style') {
        throw new Error('shiren: no inline styles');
      } else if (name in el && typeof value !== 'string') {
        el[name] = value;
      } else {
        el.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof global.Node ? child : global.document.createTextNode(String(child)));
    }
    return el;
  }

  /** el.replaceChildren(...nodes), also where that is missing (Chrome < 86). */
  function setChildren(el, ...nodes) {
    while (el.firstChild) el.removeChild(el.firstChild);
    el.append(...nodes);
  }

  const sleep = (ms) => new Promise((resolve) => global.setTimeout(resolve, ms));
  const now = () => global.performance.now();

  // ------------------------------------------------------------------------------------------ errors

  /** kind: network | token | camera_denied | camera_unavailable | no_face | too_dark | challenge_timeout |
   *  challenge_limit | consent | not_applicable | throttled | server */
  class ShirenError extends Error {
    constructor(kind, detail, extra) {
      super(detail || kind);
      this.kind = kind;
      Object.assign(this, extra || {});
    }
  }
  // Not retried on screen: the attempt cannot go on ('decided': another tab or a retry already submitted).
  const FATAL = new Set(['token', 'challenge_limit', 'decided']);
  const CODE_KINDS = {
    TokenInvalid: 'token',
    TokenExpired: 'token',
    ChallengeInvalid: 'challenge_timeout',
    ChallengeLimit: 'challenge_limit',
    ConsentRequired: 'consent',
    NotApplicable: 'not_applicable',
    Throttled: 'throttled',
    AlreadySubmitted: 'decided',
  };
  class Cancelled extends Error {}

  // ------------------------------------------------------------------------------------------ API

  /** The device protocol: Bearer token, JSON, retries only where a repeat is safe. */
  class Api {
    constructor(baseUrl, token) {
      this.base = baseUrl.replace(/\/+$/, '') + '/device/v1';
      this.token = token;
    }

    async request(method, path, options) {
      const opts = Object.assign({ retries: 0, timeoutMs: 20000 }, options || {});
      const headers = { Authorization: 'Bearer ' + this.token, Accept: 'application/json' };
      let body;
      if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json; charset=utf-8';
        body = JSON.stringify(opts.json);
      } else if (opts.body !== undefined) {
        headers['Content-Type'] = opts.type || 'application/octet-stream';
        body = opts.body;
      }
      let lastError = null;
      for (let attempt = 0; attempt <= opts.retries; attempt += 1) {
        if (attempt > 0) await sleep(lastError && lastError.retryAfterMs ? lastError.retryAfterMs : 500 * 2 ** (attempt - 1));
        const abort = new AbortController();
        const timer = global.setTimeout(() => abort.abort(), opts.timeoutMs);
        let response;
        try {
          response = await global.fetch(this.base + path, {
            method, headers, body, signal: abort.signal, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
          });
        } catch (err) {
          lastError = new ShirenError('network', String(err && err.message));
          continue;
        } finally {
          global.clearTimeout(timer);
        }
        let data = null;
        try {
          data = await response.json();
        } catch (err) {
          data = null;
        }
        if (response.ok) return data || {};
        const code = (data && data.code) || 'HTTP' + response.status;
        const message = (data && data.message) || response.statusText;
        const retryAfter = Number(response.headers.get('Retry-After')) || 1;
        // A 5xx without the protocol's JSON comes from something in between (a proxy): a network problem.
        const kind = CODE_KINDS[code] || (response.status >= 500 && !(data && data.code) ? 'network' : 'server');
        lastError = new ShirenError(kind, message, { code, status: response.status, retryAfterMs: retryAfter * 1000 });
        if (!(response.status >= 500 || response.status === 429)) break;
      }
      throw lastError;
    }

    get(path, o) { return this.request('GET', path, o); }
    post(path, json, o) { return this.request('POST', path, Object.assign({ json: json || {} }, o)); }
  }

  // ------------------------------------------------------------------------------------------ ID numbers

  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  /** GB 11643 check (a hint for the user; the server decides): null when fine, else the string key. */
  function idNumberProblem(raw) {
    const v = String(raw || '').trim().toUpperCase();
    if (/^\d{15}$/.test(v)) return null;
    if (!/^\d{17}[\dX]$/.test(v)) return 'id_hint_format';
    const y = +v.slice(6, 10); const m = +v.slice(10, 12); const d = +v.slice(12, 14);
    const birth = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d || birth.getTime() > Date.now()) {
      return 'id_hint_date';
    }
    let sum = 0;
    for (let i = 0; i < 17; i += 1) sum += +v[i] * WEIGHTS[i];
    return '10X98765432'[sum % 11] === v[17] ? null : 'id_hint_checksum';
  }

  // ------------------------------------------------------------------------------------------ media

  function pickRecorderType() {
    const R = global.MediaRecorder;
    if (!R) return null;
    for (const type of ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4']) {
      if (!R.isTypeSupported || R.isTypeSupported(type)) return type;
    }
    return '';
  }

  function baseType(mime) {
    return String(mime || 'video/webm').split(';')[0].trim() || 'video/webm';
  }

  function canvasToBlob(canvas, type, quality) {
    return new Promise((resolve) => canvas.toBlob((b) => resolve(b), type, quality));
  }

  /** Draw ``source`` (video, image or bitmap of size w×h) scaled to at most maxSide, as a JPEG. */
  async function toJpeg(source, w, h, maxSide, maxBytes, quality) {
    const scale = Math.min(1, maxSide / Math.max(w, h));
    const canvas = global.document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
    let q = quality;
    let blob = await canvasToBlob(canvas, 'image/jpeg', q);
    while (blob && maxBytes && blob.size > maxBytes && q > 0.4) {
      q -= 0.15;
      blob = await canvasToBlob(canvas, 'image/jpeg', q);
    }
    return blob;
  }

  /** Decode an image file honouring its EXIF orientation; returns {source, w, h, close()}. */
  async function decodeImage(file) {
    if (global.createImageBitmap) {
      try {
        const bmp = await global.createImageBitmap(file, { imageOrientation: 'from-image' });
        return { source: bmp, w: bmp.width, h: bmp.height, close: () => bmp.close() };
      } catch (err) { /* fall back to <img> */ }
    }
    const url = global.URL.createObjectURL(file);
    const img = new global.Image();
    try {
      await new Promise((resolve, reject) => { img.onload = resolve; img.onerror = reject; img.src = url; });
    } finally {
      global.URL.revokeObjectURL(url);
    }
    return { source: img, w: img.naturalWidth, h: img.naturalHeight, close: () => {} };
  }

  function cameraError(err) {
    const name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
      return new ShirenError('camera_denied', name);
    }
    return new ShirenError('camera_unavailable', name || String(err));
  }

  async function openCamera(facingMode) {
    const md = global.navigator.mediaDevices;
    if (!md || !md.getUserMedia) throw new ShirenError('camera_unavailable', 'no getUserMedia');
    const ideal = facingMode === 'user' ? { width: { ideal: 640 }, height: { ideal: 480 } } : { width: { ideal: 1920 }, height: { ideal: 1080 } };
    try {
      return await md.getUserMedia({ audio: false, video: Object.assign({ facingMode }, ideal) });
    } catch (err) {
      throw cameraError(err);
    }
  }

  function stopStream(stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  }

  async function attachVideo(video, stream) {
    video.srcObject = stream;
    const ready = new Promise((resolve) => {
      if (video.readyState >= 2 && video.videoWidth) resolve();
      else video.addEventListener('loadeddata', () => resolve(), { once: true });
    });
    try { await video.play(); } catch (err) { /* autoplay of a muted stream is allowed; ignore */ }
    const ok = await Promise.race([ready.then(() => true), sleep(10000).then(() => false)]);
    if (!ok || !video.videoWidth) throw new ShirenError('camera_unavailable', 'no frames');
  }

  // ------------------------------------------------------------------------------------------ the flow

  const KNOWN_STEPS = ['GUIDE', 'PRIVACY', 'MANUAL_INPUT', 'FACE_LIVENESS', 'TAKE_ID_PHOTO', 'ID_CONFIRM', 'RESULT'];
  const GUIDE_FAST_MS = 333; // ~3 previews per second …
  const GUIDE_SLOW_MS = 1000; // … then 1 per second, to stay under the per-token rate limit
  const GUIDE_FAST_FOR_MS = 20000;
  const OK_HOLD_MS = 1000;
  const NO_FACE_LIMIT_MS = 15000;
  const PASS_RETURN_S = 3; // a pass has one sentence to read; a failure never leaves by itself
  const TOO_DARK_LIMIT_MS = 10000;
  const GUIDE_LIMIT_MS = 60000;

  class Flow {
    constructor(options) {
      this.opts = options;
      this.lang = pickLanguage(options.locale);
      this.t = translator(this.lang);
      this.api = new Api(options.baseUrl, options.token);
      this.data = { challengeId: null, name: null, idNumber: null };
      this.streams = new Set();
      this.cancelled = false;
      this.cancelWaiters = new Set();
      this.root = h('section', { class: 'shiren', lang: this.lang === 'zh' ? 'zh-CN' : 'en', 'aria-label': this.t('region') });
      setChildren(options.container, this.root);
    }

    // -- plumbing

    cancel() {
      if (this.cancelled) return;
      this.cancelled = true;
      for (const reject of this.cancelWaiters) reject(new Cancelled());
    }

    /** Await ``promise`` unless the user cancels first. */
    until(promise) {
      if (this.cancelled) return Promise.reject(new Cancelled());
      let off;
      const cancelled = new Promise((resolve, reject) => { off = reject; this.cancelWaiters.add(reject); });
      return Promise.race([promise, cancelled]).finally(() => this.cancelWaiters.delete(off));
    }

    async camera(facingMode) {
      const stream = await openCamera(facingMode);
      this.streams.add(stream);
      return stream;
    }

    release(stream) {
      stopStream(stream);
      this.streams.delete(stream);
    }

    releaseAll() {
      for (const s of this.streams) stopStream(s);
      this.streams.clear();
    }

    /** A fresh screen: heading first (focused, so screen readers announce each step), then content. */
    screen(step, title, options) {
      const o = options || {};
      this.root.setAttribute('data-shiren-step', step);
      for (const attr of ['error', 'hint', 'side', 'phase', 'action', 'result']) this.root.removeAttribute('data-shiren-' + attr);
      const heading = h('h2', { class: 'shiren-title', tabindex: '-1', id: nextId('title') }, title);
      const body = h('div', { class: 'shiren-body' });
      const parts = [];
      if (o.progress) parts.push(h('p', { class: 'shiren-progress' }, this.t('step_of', o.progress)));
      parts.push(heading, body);
      const footer = h('div', { class: 'shiren-actions' });
      parts.push(footer);
      const screen = h('div', { class: 'shiren-screen shiren-screen-' + step.toLowerCase(), 'aria-labelledby': heading.id }, parts);
      setChildren(this.root, screen);
      if (o.busy) screen.setAttribute('aria-busy', 'true');
      if (o.focus !== false) heading.focus({ preventScroll: false });
      return { screen, heading, body, footer };
    }

    cancelButton() {
      return h('button', { type: 'button', class: 'shiren-btn shiren-btn-secondary', on: { click: () => this.cancel() } }, this.t('cancel'));
    }

    busy(step, text) {
      const s = this.screen(step, text, { busy: true });
      s.body.append(h('div', { class: 'shiren-spinner', 'aria-hidden': 'true' }));
      return s;
    }

    progressOf(step) {
      const steps = this.steps.filter((s) => s !== 'RESULT');
      const i = steps.indexOf(step);
      return i < 0 ? null : { n: i + 1, total: steps.length };
    }

    /** Run ``fn``; on an error show the error screen, and run it again when the user asks to. */
    async guarded(fn, passThrough) {
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          if (err instanceof Cancelled) throw err;
          const e = err instanceof ShirenError ? err : new ShirenError('server', String(err && err.message));
          if (!(err instanceof ShirenError) && global.console) global.console.error('shiren:', err);
          if (passThrough && passThrough.includes(e.kind)) throw e;
          if (FATAL.has(e.kind)) throw e;
          this.releaseAll();
          await this.errorScreen(e);
        }
      }
    }

    errorScreen(err) {
      const key = 'err_' + (err.kind === 'throttled' || err.kind === 'not_applicable' ? 'server' : err.kind);
      const s = this.screen('ERROR', this.t('err_title'));
      this.root.setAttribute('data-shiren-error', err.kind);
      s.body.append(h('p', { class: 'shiren-error-text', role: 'alert' }, this.t(key)));
      if (err.code && err.kind === 'server') s.body.append(h('p', { class: 'shiren-small' }, err.code));
      return this.until(new Promise((resolve) => {
        const retry = h('button', { type: 'button', class: 'shiren-btn shiren-btn-primary', on: { click: () => resolve() } }, this.t('retry'));
        s.footer.append(retry, this.cancelButton());
      }));
    }

    // -- the run

    async run() {
      try {
        const session = await this.guarded(() => this.loadSession());
        this.session = session;
        if (session.state === 'decided' && session.result) return this.finish(session.result);
        this.steps = (session.steps || []).filter((s) => KNOWN_STEPS.includes(s));
        for (const step of this.steps) {
          if (step === 'RESULT') continue;
          await this.guarded(() => this.runStep(step));
        }
        const result = await this.guarded(() => this.submit());
        return this.finish(result);
      } catch (err) {
        this.releaseAll();
        if (err instanceof Cancelled) return this.cancelledResult();
        if (err instanceof ShirenError && err.kind === 'decided') return this.decidedElsewhere(err);
        if (err instanceof ShirenError && FATAL.has(err.kind)) return this.fatal(err);
        throw err;
      } finally {
        this.releaseAll();
      }
    }

    async loadSession() {
      this.busy('LOADING', this.t('loading'));
      return this.until(this.api.get('/session', { retries: 2 }));
    }

    runStep(step) {
      switch (step) {
        case 'GUIDE': return this.stepGuide();
        case 'PRIVACY': return this.stepPrivacy();
        case 'MANUAL_INPUT': return this.stepManual();
        case 'FACE_LIVENESS': return this.stepLiveness();
        case 'TAKE_ID_PHOTO': return this.stepIdPhoto();
        case 'ID_CONFIRM': return this.stepConfirm();
        default: return Promise.resolve();
      }
    }

    // -- GUIDE

    stepGuide() {
      const t = this.t;
      const needs = this.session.needs || {};
      const s = this.screen('GUIDE', t('guide_title'), { progress: this.progressOf('GUIDE') });
      const items = [];
      if (this.steps.includes('MANUAL_INPUT') || needs.manualInput) items.push(t('guide_manual'));
      if (this.steps.includes('FACE_LIVENESS')) items.push(t('guide_liveness'));
      if (needs.flash) items.push(t('guide_flash'));
      if (this.steps.includes('TAKE_ID_PHOTO') || needs.idCard) items.push(t('guide_idcard'));
      if (this.steps.includes('ID_CONFIRM') || needs.confirm) items.push(t('guide_confirm'));
      s.body.append(
        h('p', {}, t('guide_intro')),
        h('ol', { class: 'shiren-list' }, items.map((text) => h('li', {}, text))),
        h('p', { class: 'shiren-note' }, t('guide_tips')),
      );
      return this.until(new Promise((resolve) => {
        s.footer.append(
          h('button', { type: 'button', class: 'shiren-btn shiren-btn-primary', on: { click: () => resolve() } }, t('start')),
          this.cancelButton(),
        );
      }));
    }

    // -- PRIVACY

    async stepPrivacy() {
      const consent = this.session.consent || {};
      if (consent.given) return;
      const t = this.t;
      const s = this.screen('PRIVACY', t('privacy_title'), { progress: this.progressOf('PRIVACY') });
      const texts = consent.text || {};
      const text = texts[this.lang] || texts.zh || texts.en || '';
      const textBox = h('div', { class: 'shiren-consent-text', tabindex: '0', role: 'document', 'aria-label': t('privacy_title') });
      for (const para of String(text).split(/\n+/)) if (para.trim()) textBox.append(h('p', {}, para.trim()));
      const boxId = nextId('consent');
      const errId = nextId('consent-err');
      const box = h('input', { type: 'checkbox', id: boxId, class: 'shiren-checkbox', 'aria-describedby': errId });
      const err = h('p', { id: errId, class: 'shiren-field-error', 'aria-live': 'polite' });
      s.body.append(textBox, h('div', { class: 'shiren-check-row' }, box, h('label', { for: boxId }, t('privacy_agree'))), err);
      await this.until(new Promise((resolve) => {
        const go = h('button', {
          type: 'button',
          class: 'shiren-btn shiren-btn-primary',
          on: {
            click: () => {
              if (!box.checked) {
                err.textContent = t('privacy_need');
                box.focus();
                return;
              }
              resolve();
            },
          },
        }, t('privacy_button'));
        s.footer.append(go, this.cancelButton());
      }));
      this.busy('PRIVACY', t('privacy_title'));
      await this.until(this.api.post('/consent', { version: consent.version, locale: this.lang }, { retries: 3 }));
      consent.given = true;
    }

    // -- MANUAL_INPUT and ID_CONFIRM share one form

    identityForm(step, title, intro, values, lowConfidence) {
      const t = this.t;
      const s = this.screen(step, title, { progress: this.progressOf(step), focus: !lowConfidence.length });
      if (intro) s.body.append(h('p', { class: intro.warn ? 'shiren-warning' : '' }, intro.text));
      const form = h('form', { class: 'shiren-form', novalidate: true });
      const fields = {};
      for (const [key, label, attrs] of [
        ['name', t('field_name'), { autocomplete: 'name', maxlength: '64' }],
        ['idNumber', t('field_id'), { autocomplete: 'off', maxlength: '18', inputmode: 'text', autocapitalize: 'characters', spellcheck: 'false' }],
      ]) {
        const id = nextId(key);
        const hintId = nextId(key + '-hint');
        const low = lowConfidence.includes(key);
        const input = h('input', Object.assign({
          id, name: key, type: 'text', required: true, class: 'shiren-input' + (low ? ' shiren-low' : ''), value: values[key] || '',
          'aria-describedby': hintId,
        }, attrs));
        input.value = values[key] || '';
        const hint = h('p', { id: hintId, class: 'shiren-field-hint', 'aria-live': 'polite' }, low ? t('confirm_check') : '');
        fields[key] = { input, hint, low };
        form.append(h('div', { class: 'shiren-field' + (low ? ' shiren-field-low' : '') }, h('label', { for: id }, label), input, hint));
      }
      const updateIdHint = () => {
        const v = fields.idNumber.input.value;
        if (!v.trim()) return;
        const problem = idNumberProblem(v);
        fields.idNumber.hint.textContent = problem ? t(problem) : t('id_hint_ok');
        fields.idNumber.hint.classList.toggle('shiren-field-error', !!problem);
      };
      fields.idNumber.input.addEventListener('input', updateIdHint);
      fields.idNumber.input.addEventListener('blur', updateIdHint);
      const submit = h('button', { type: 'submit', class: 'shiren-btn shiren-btn-primary' }, t('continue'));
      form.append(h('div', { class: 'shiren-actions' }, submit, this.cancelButton()));
      s.body.append(form);
      const firstLow = ['name', 'idNumber'].find((k) => fields[k].low);
      if (firstLow) fields[firstLow].input.focus();
      return this.until(new Promise((resolve) => {
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          const name = fields.name.input.value.trim();
          const idNumber = fields.idNumber.input.value.trim().toUpperCase();
          if (!name) {
            fields.name.hint.textContent = t('name_missing');
            fields.name.hint.classList.add('shiren-field-error');
            fields.name.input.setAttribute('aria-invalid', 'true');
            fields.name.input.focus();
            return;
          }
          const problem = idNumberProblem(idNumber);
          if (problem) {
            fields.idNumber.hint.textContent = t(problem);
            fields.idNumber.hint.classList.add('shiren-field-error');
            fields.idNumber.input.setAttribute('aria-invalid', 'true');
            fields.idNumber.input.focus();
            return;
          }
          resolve({ name, idNumber });
        });
      }));
    }

    async stepManual() {
      const v = await this.identityForm('MANUAL_INPUT', this.t('manual_title'), null, {}, []);
      this.data.name = v.name;
      this.data.idNumber = v.idNumber;
    }

    async stepConfirm() {
      const t = this.t;
      this.busy('ID_CONFIRM', t('reading_card'));
      const ocr = await this.until(this.api.post('/ocr', {}, { retries: 2, timeoutMs: 60000 }));
      const found = !!(ocr && ocr.found);
      const low = found ? (ocr.lowConfidence || []).filter((k) => k === 'name' || k === 'idNumber') : ['name', 'idNumber'];
      const intro = found ? { text: t('confirm_intro') } : { text: t('confirm_notfound'), warn: true };
      const values = found ? { name: ocr.name, idNumber: ocr.idNumber } : {};
      const v = await this.identityForm('ID_CONFIRM', t('confirm_title'), intro, values, low);
      this.data.name = v.name;
      this.data.idNumber = v.idNumber;
    }

    // -- FACE_LIVENESS

    async stepLiveness() {
      const t = this.t;
      const s = this.screen('FACE_LIVENESS', t('liveness_title'), { progress: this.progressOf('FACE_LIVENESS') });
      const video = h('video', { class: 'shiren-video shiren-mirror', muted: true, autoplay: true, playsinline: true, 'aria-hidden': 'true' });
      video.muted = true;
      video.playsInline = true;
      const oval = h('div', { class: 'shiren-oval', 'aria-hidden': 'true' });
      const stage = h('div', { class: 'shiren-stage shiren-stage-face' }, video, oval);
      const prompt = h('p', { class: 'shiren-prompt', 'aria-live': 'assertive', 'aria-atomic': 'true' });
      const hint = h('p', { class: 'shiren-hint', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, t('camera_starting'));
      const meter = h('progress', { class: 'shiren-meter', max: '100', value: '0', hidden: true, 'aria-label': t('recording') });
      const flash = h('canvas', { class: 'shiren-flash', width: '2', height: '2', hidden: true, 'aria-hidden': 'true' });
      s.body.append(h('p', { class: 'shiren-intro' }, t('liveness_intro')), stage, prompt, hint, meter, flash);
      s.footer.append(this.cancelButton());
      const stream = await this.until(this.camera('user'));
      try {
        await this.until(attachVideo(video, stream));
        await this.guide(video, hint, s.footer);
        hint.textContent = '';
        const challenge = await this.until(this.api.post('/challenge', {}, { retries: 2 }));
        this.root.setAttribute('data-shiren-phase', 'recording');
        const blob = await this.record(stream, challenge, { prompt, hint, meter, flash, stage });
        this.root.removeAttribute('data-shiren-phase');
        this.release(stream);
        this.busy('FACE_LIVENESS', t('uploading'));
        const path = '/uploads/video?challengeId=' + encodeURIComponent(challenge.challengeId);
        await this.guarded(
          () => this.until(this.api.request('PUT', path, { body: blob, type: baseType(blob.type), retries: 4, timeoutMs: 60000 })),
          ['challenge_timeout'],
        );
        this.data.challengeId = challenge.challengeId;
      } finally {
        this.release(stream);
        this.root.removeAttribute('data-shiren-phase');
      }
    }

    /** Live hints until the face has been fine (and still) for OK_HOLD_MS. */
    async guide(video, hintEl, footer) {
      const t = this.t;
      const canvas = global.document.createElement('canvas');
      const started = now();
      let okSince = null;
      let noFaceSince = null;
      let darkSince = null;
      let prevBox = null;
      let failures = 0;
      let shown = '';
      const show = (key) => {
        if (key !== shown) {
          shown = key;
          hintEl.textContent = t('hint_' + key);
          this.root.setAttribute('data-shiren-hint', key);
        }
      };
      for (;;) {
        if (this.cancelled) throw new Cancelled();
        const tick = now();
        let answer = null;
        try {
          const frame = await toJpeg(video, video.videoWidth, video.videoHeight, 320, 200000, 0.7);
          answer = await this.until(this.api.request('POST', '/guide', { body: frame, type: 'image/jpeg', timeoutMs: 5000 }));
          failures = 0;
        } catch (err) {
          if (err instanceof Cancelled || FATAL.has(err.kind) || err.kind === 'consent') throw err;
          if (err.kind === 'throttled') {
            await this.until(sleep(err.retryAfterMs || 1000));
            continue;
          }
          if (err.kind === 'not_applicable' || err.status === 404) return this.manualStart(hintEl, footer);
          failures += 1;
          if (failures >= 3) throw new ShirenError('network', 'guide');
        }
        if (answer) {
          let key = answer.hint || 'no_face';
          const box = answer.face;
          if (key === 'ok' && prevBox && box && moved(prevBox, box)) key = 'hold_still';
          prevBox = box || null;
          show(key);
          const at = now();
          okSince = key === 'ok' ? okSince || at : null;
          noFaceSince = key === 'no_face' ? noFaceSince || at : null;
          darkSince = key === 'too_dark' ? darkSince || at : null;
          if (okSince !== null && at - okSince >= OK_HOLD_MS) return;
          if (noFaceSince !== null && at - noFaceSince >= NO_FACE_LIMIT_MS) throw new ShirenError('no_face');
          if (darkSince !== null && at - darkSince >= TOO_DARK_LIMIT_MS) throw new ShirenError('too_dark');
        }
        if (now() - started >= GUIDE_LIMIT_MS) throw new ShirenError('no_face', 'guide limit');
        const interval = now() - started < GUIDE_FAST_FOR_MS ? GUIDE_FAST_MS : GUIDE_SLOW_MS;
        await this.until(sleep(Math.max(0, interval - (now() - tick))));
      }
    }

    /** Without server hints, the user says when they are ready. */
    manualStart(hintEl, footer) {
      hintEl.textContent = this.t('manual_start');
      return this.until(new Promise((resolve) => {
        const go = h('button', { type: 'button', class: 'shiren-btn shiren-btn-primary', on: { click: () => { go.remove(); resolve(); } } }, this.t('record_start'));
        footer.prepend(go);
        go.focus();
      }));
    }

    /** Record captureMs of video; prompts at their atMs; the colour flash for RPBioOnlyPro. */
    record(stream, challenge, ui) {
      const t = this.t;
      const mime = pickRecorderType();
      if (mime === null) return Promise.reject(new ShirenError('camera_unavailable', 'no MediaRecorder'));
      const captureMs = Math.max(1000, Number(challenge.captureMs) || 4000);
      const timers = [];
      const later = (fn, ms) => timers.push(global.setTimeout(fn, ms));
      const job = new Promise((resolve, reject) => {
        let recorder;
        try {
          recorder = new global.MediaRecorder(stream, Object.assign({ videoBitsPerSecond: 1500000 }, mime ? { mimeType: mime } : {}));
        } catch (err) {
          reject(new ShirenError('camera_unavailable', 'recorder'));
          return;
        }
        const chunks = [];
        recorder.addEventListener('dataavailable', (ev) => { if (ev.data && ev.data.size) chunks.push(ev.data); });
        recorder.addEventListener('error', () => reject(new ShirenError('camera_unavailable', 'recorder error')));
        recorder.addEventListener('stop', () => {
          const blob = new global.Blob(chunks, { type: baseType(recorder.mimeType || mime) });
          if (!blob.size) reject(new ShirenError('challenge_timeout', 'empty recording'));
          else resolve(blob);
        });
        recorder.addEventListener('start', () => {
          const t0 = now();
          ui.prompt.textContent = t('get_ready');
          ui.meter.hidden = false;
          for (const p of challenge.prompts || []) {
            later(() => {
              ui.prompt.textContent = t('action_' + p.action);
              this.root.setAttribute('data-shiren-action', p.action);
            }, Math.max(0, Number(p.atMs) || 0));
          }
          const flash = challenge.flash;
          if (flash && Array.isArray(flash.colors) && flash.colors.length) {
            const ctx = ui.flash.getContext('2d');
            const seg = Math.max(50, Number(flash.segmentMs) || 400);
            const start = Math.max(0, Number(flash.startMs) || 0);
            flash.colors.forEach((colour, i) => later(() => {
              // A canvas fill, not a style: the page's CSP forbids inline styles.
              ctx.fillStyle = /^#[0-9a-fA-F]{3,8}$/.test(colour) ? colour : '#ffffff';
              ctx.fillRect(0, 0, ui.flash.width, ui.flash.height);
              ui.flash.hidden = false;
              this.root.classList.add('shiren-flashing');
            }, start + i * seg));
            later(() => { ui.flash.hidden = true; this.root.classList.remove('shiren-flashing'); }, start + flash.colors.length * seg);
          }
          const tickMeter = () => {
            ui.meter.value = Math.min(100, Math.round((100 * (now() - t0)) / captureMs));
            if (now() - t0 < captureMs) later(tickMeter, 100);
          };
          tickMeter();
          later(() => { if (recorder.state !== 'inactive') recorder.stop(); }, captureMs);
        });
        recorder.start(1000);
        later(() => reject(new ShirenError('challenge_timeout', 'recorder stalled')), captureMs + 15000);
      });
      return this.until(job).finally(() => {
        for (const id of timers) global.clearTimeout(id);
        ui.flash.hidden = true;
        this.root.classList.remove('shiren-flashing');
        this.root.removeAttribute('data-shiren-action');
        ui.prompt.textContent = '';
      });
    }

    // -- TAKE_ID_PHOTO

    async stepIdPhoto() {
      const maxBytes = (this.session.limits && this.session.limits.maxImageBytes) || 2097152;
      for (const side of ['front', 'back']) {
        const blob = await this.cardPhoto(side, maxBytes);
        this.busy('TAKE_ID_PHOTO', this.t('uploading'));
        await this.guarded(() => this.until(this.api.request('PUT', '/uploads/id_' + side, { body: blob, type: 'image/jpeg', retries: 4, timeoutMs: 60000 })));
      }
    }

    /** One side: a file input (opens the rear camera on phones) or the live camera, then a preview. */
    async cardPhoto(side, maxBytes) {
      const t = this.t;
      for (;;) {
        const s = this.screen('TAKE_ID_PHOTO', t('idphoto_' + side + '_title'), { progress: this.progressOf('TAKE_ID_PHOTO') });
        this.root.setAttribute('data-shiren-side', side);
        const fileId = nextId('file');
        const errId = nextId('file-err');
        const input = h('input', { type: 'file', id: fileId, accept: 'image/*', capture: 'environment', class: 'shiren-file', 'aria-describedby': errId });
        const err = h('p', { id: errId, class: 'shiren-field-error', 'aria-live': 'polite' });
        const stage = h('div', { class: 'shiren-stage shiren-stage-card', hidden: true });
        s.body.append(
          h('p', {}, t('idphoto_intro')),
          h('div', { class: 'shiren-field' }, h('label', { for: fileId, class: 'shiren-file-label' }, t('idphoto_file')), input, err),
          stage,
        );
        let stream = null;
        const picked = await this.until(new Promise((resolve) => {
          input.addEventListener('change', async () => {
            const file = input.files && input.files[0];
            if (!file) return;
            try {
              const img = await decodeImage(file);
              try {
                resolve(await toJpeg(img.source, img.w, img.h, 1600, maxBytes, 0.9));
              } finally {
                img.close();
              }
            } catch (e) {
              err.textContent = t('idphoto_bad_file');
              input.value = '';
              input.focus();
            }
          });
          const cameraBtn = h('button', {
            type: 'button',
            class: 'shiren-btn shiren-btn-secondary',
            on: {
              click: async () => {
                try {
                  stream = await this.camera('environment');
                } catch (e) {
                  err.textContent = this.t('err_' + e.kind);
                  return;
                }
                const video = h('video', { class: 'shiren-video', muted: true, autoplay: true, playsinline: true, 'aria-hidden': 'true' });
                video.muted = true;
                setChildren(stage, video, h('div', { class: 'shiren-card-frame', 'aria-hidden': 'true' }));
                stage.hidden = false;
                try {
                  await attachVideo(video, stream);
                } catch (e) {
                  err.textContent = this.t('err_camera_unavailable');
                  return;
                }
                const take = h('button', {
                  type: 'button',
                  class: 'shiren-btn shiren-btn-primary',
                  on: { click: async () => resolve(await toJpeg(video, video.videoWidth, video.videoHeight, 1600, maxBytes, 0.9)) },
                }, t('idphoto_take'));
                cameraBtn.replaceWith(take);
                take.focus();
              },
            },
          }, t('idphoto_camera'));
          s.footer.append(cameraBtn, this.cancelButton());
        })).finally(() => { if (stream) this.release(stream); });
        if (!picked) continue;
        if (await this.previewPhoto(side, picked)) return picked;
      }
    }

    previewPhoto(side, blob) {
      const t = this.t;
      const s = this.screen('TAKE_ID_PHOTO', t('idphoto_' + side + '_title'), { progress: this.progressOf('TAKE_ID_PHOTO') });
      this.root.setAttribute('data-shiren-side', side + '-preview');
      const url = global.URL.createObjectURL(blob);
      s.body.append(h('img', { class: 'shiren-preview', src: url, alt: t('idphoto_preview_' + side) }));
      return this.until(new Promise((resolve) => {
        s.footer.append(
          h('button', { type: 'button', class: 'shiren-btn shiren-btn-primary', on: { click: () => resolve(true) } }, t('idphoto_use')),
          h('button', { type: 'button', class: 'shiren-btn shiren-btn-secondary', on: { click: () => resolve(false) } }, t('idphoto_retake')),
        );
      })).finally(() => global.URL.revokeObjectURL(url));
    }

    // -- submit and result

    async submit() {
      this.busy('SUBMIT', this.t('checking'));
      const body = {};
      if (this.data.challengeId) body.challengeId = this.data.challengeId;
      if (this.data.name) body.name = this.data.name;
      if (this.data.idNumber) body.idNumber = this.data.idNumber;
      if (this.opts.successRedirect) body.successRedirect = String(this.opts.successRedirect);
      if (this.opts.failRedirect) body.failRedirect = String(this.opts.failRedirect);
      const send = (b) => this.until(this.api.post('/submit', b, { retries: 3, timeoutMs: 120000 }));
      try {
        return await send(body);
      } catch (err) {
        // A refused return address must not cost the user their capture: submit without it.
        const refused = err.kind === 'server' && /redirect/i.test(String(err.message) + ' ' + String(err.code));
        if (!refused || !(body.successRedirect || body.failRedirect)) throw err;
        this.redirectRefused = true;
        delete body.successRedirect;
        delete body.failRedirect;
        return send(body);
      }
    }

    finish(raw) {
      const r = raw || {};
      const out = {
        state: Number(r.state) === 1 ? 1 : Number(r.state) === 2 ? 2 : -1,
        code: r.code === undefined ? -1 : Number(r.code),
        message: r.message || '',
        result: r.result || null,
      };
      if (r.review === true) out.review = true;
      const safe = safeRedirect(r.redirectUrl);
      if (safe && !this.redirectRefused) out.redirectUrl = safe;
      if (this.redirectRefused) out.redirectRefused = true;
      if (!this.steps || this.steps.includes('RESULT')) this.resultScreen(out);
      return out;
    }

    resultScreen(out) {
      const t = this.t;
      const passed = out.state === 1;
      const title = passed ? 'result_pass_title' : out.review ? 'result_review_title' : 'result_fail_title';
      const s = this.screen('RESULT', t(title));
      this.root.setAttribute('data-shiren-result', String(out.state));
      s.screen.classList.add(passed ? 'shiren-pass' : 'shiren-fail');
      s.body.append(h('div', { class: 'shiren-result-icon', 'aria-hidden': 'true' }));
      const reason = passed
        ? t('result_pass_text')
        : out.review
          ? t('result_review_text')
          : STRINGS[this.lang]['status_' + out.code] || out.message;
      s.body.append(h('p', { class: 'shiren-result-text', role: 'status' }, reason));
      if (!passed && !out.review) s.body.append(h('p', {}, t('result_again')));
      if (out.redirectUrl && this.opts.redirect) this.offerReturn(s, out.redirectUrl, passed);
      if (out.redirectRefused) s.body.append(h('p', { class: 'shiren-warning' }, t('result_redirect_refused')));
    }

    /** "Continue" goes back at once; a pass also goes back after a countdown announced politely. */
    offerReturn(s, url, passed) {
      let timer = null;
      const go = () => {
        global.clearTimeout(timer);
        global.location.assign(url);
      };
      const button = h('button', { type: 'button', class: 'shiren-btn shiren-btn-primary', on: { click: go } }, this.t('continue'));
      s.footer.append(button);
      if (!passed) return;
      const note = h('p', { class: 'shiren-note', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
      s.body.append(note);
      let left = PASS_RETURN_S;
      const tick = () => {
        if (left <= 0) return go();
        note.textContent = this.t('result_redirect_in', { n: left });
        left -= 1;
        timer = global.setTimeout(tick, 1000);
      };
      tick();
    }

    async cancelledResult() {
      try {
        await this.api.post('/cancel', {}, { retries: 1, timeoutMs: 5000 });
      } catch (err) { /* the attempt simply stays unverified */ }
      const s = this.screen('CANCELLED', this.t('cancelled_title'));
      s.body.append(h('p', {}, this.t('cancelled_text')));
      return { state: -1, code: -1, message: 'cancelled', result: null };
    }

    /** The attempt was decided meanwhile: show the stored answer (the session carries it). */
    async decidedElsewhere(err) {
      try {
        const session = await this.api.get('/session', { retries: 2 });
        if (session.result) return this.finish(session.result);
      } catch (e) { /* fall through */ }
      return this.fatal(err);
    }

    fatal(err) {
      const s = this.screen('ERROR', this.t('err_title'));
      this.root.setAttribute('data-shiren-error', err.kind);
      s.body.append(h('p', { class: 'shiren-error-text', role: 'alert' }, this.t('err_' + err.kind)));
      return { state: -1, code: -1, message: err.code || err.kind, result: null };
    }
  }

  /** Only http(s) URLs are ever navigated to, whatever a server says. */
  function safeRedirect(url) {
    if (!url) return null;
    try {
      const u = new URL(String(url));
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (err) {
      return null;
    }
  }

  function moved(a, b) {
    const dx = (a.x + a.w / 2) - (b.x + b.w / 2);
    const dy = (a.y + a.h / 2) - (b.y + b.h / 2);
    return Math.hypot(dx, dy) > 0.05 || Math.abs(a.w - b.w) > 0.08 * Math.max(a.w, b.w);
  }

  function defaultBase() {
    try {
      if (SCRIPT_SRC) return new URL(SCRIPT_SRC).origin;
    } catch (err) { /* fall through */ }
    return global.location.origin;
  }

  /** Start a verification in ``container``; resolves with the outcome (a hint: the server's word is final). */
  function start(options) {
    const o = Object.assign({}, options || {});
    const container = typeof o.container === 'string' ? global.document.querySelector(o.container) : o.container;
    if (!container) return Promise.reject(new TypeError('Shiren.start: container not found'));
    o.container = container;
    o.baseUrl = o.baseUrl || defaultBase();
    o.token = String(o.token || '');
    const flow = new Flow(o);
    // A missing or malformed token (e.g. a truncated link) gets the same screen as an unknown one.
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(o.token)) return Promise.resolve(flow.fatal(new ShirenError('token', 'malformed')));
    return flow.run();
  }

  global.Shiren = Object.freeze({ start, version: VERSION, idNumberProblem });
})(window);
