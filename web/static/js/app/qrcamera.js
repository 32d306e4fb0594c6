// qrcamera.js: reads QR codes from the device's camera for the scan page.
// Where the browser has BarcodeDetector (Chrome on Android, desktop
// Chrome) it does the decoding; elsewhere (iOS Safari, Firefox) the frames
// are drawn on a canvas and decoded by jsQR, vendored in /vendor/jsqr and
// loaded only then. Either way a few frames a second are read, which is
// enough at a door and keeps a phone cool.

// frameInterval is the pause between two reads of the camera.
const frameInterval = 200;

// maxSide is the largest side of the frame jsQR reads: a phone's 1080p
// frame is scaled down, since a ticket's QR code fills much of the view.
const maxSide = 640;

let jsQRLoaded = null;

// loadJsQR loads the vendored decoder once: a UMD bundle that, run as a
// module, defines self.jsQR.
function loadJsQR() {
  jsQRLoaded ??= import('/vendor/jsqr/jsQR.js').then(() => {
    if (typeof self.jsQR !== 'function') throw new Error('the QR decoder did not load');
    return self.jsQR;
  });
  return jsQRLoaded;
}

// decoderName says which decoder this browser uses, for the page to show.
export function decoderName() {
  return 'BarcodeDetector' in window ? 'BarcodeDetector' : 'jsQR';
}

// cameraAvailable says whether this browser can open a camera at all.
export function cameraAvailable() {
  return Boolean(navigator.mediaDevices?.getUserMedia);
}

// makeDecoder returns a function from a playing video to the text of the
// QR code in its current frame, or null.
async function makeDecoder() {
  if ('BarcodeDetector' in window) {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    return async (video) => {
      const found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    };
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return null;
    const scale = Math.min(1, maxSide / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    g.drawImage(video, 0, 0, canvas.width, canvas.height);
    const img = g.getImageData(0, 0, canvas.width, canvas.height);
    // A code on a phone's screen is dark on light; a printed one may be
    // inverted by the paper's contrast, which jsQR tries second.
    const found = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
    return found?.data || null;
  };
}

// startCamera opens the back camera into video and calls onCode with each
// code it reads (the same code many times a second while it is in view:
// the caller decides what a repeat means). It returns the function that
// stops the camera; it throws when there is no camera or no permission.
export async function startCamera(video, onCode) {
  const decode = await makeDecoder();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  let stopped = false, timer = null;
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const loop = async () => {
    if (stopped) return;
    try {
      const code = await decode(video);
      if (code && !stopped) await onCode(code);
    } catch { /* a frame that could not be read: try the next */ }
    if (!stopped) timer = setTimeout(loop, frameInterval);
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    video.hidden = true;
  };
}
