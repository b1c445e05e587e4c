// The page of `cgan export --format web`: the user's camera (or a dropped image or video) translated frame by frame
// on their own device by ONNX Runtime Web, with the Python runtime's pre- and post-processing (cgan/pixels.py,
// cgan/images.py): pixels / 127.5 - 1, reflect-padded on the bottom and right to the model's size multiple,
// cropped back, clamped and rounded to pixels.
"use strict";

const HALF_RANGE = 127.5;
const page = {
  frames: 0, fps: 0, engine: "", error: "", message: "",
  pixelsFrom: "",  // how the last frame's pixels were read: "VideoFrame" (WebCodecs) or "canvas"
  // Where a frame's time goes, summed since the last counter tick (stageTotals) and per frame over the last second
  // (stageMs): reading and preparing the input, the model, and turning its output into pixels on the canvas.
  stageTotals: { prepare: 0, model: 0, draw: 0 }, stageMs: null,
  output: document.getElementById("output"),
  sideBySide: document.getElementById("side-by-side"),
};
window.cganPage = page;  // what tests and the console read
const params = new URLSearchParams(location.search);
const reportTo = params.get("report");  // tests: POST the page's state there

function say(text, isError = false) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  page.message = text;
  if (isError) {
    page.error = text;
    report({ error: text });
  }
}

function report(record) {
  if (!reportTo) return;
  fetch(reportTo, { method: "POST", body: JSON.stringify({ ...record, frames: page.frames, fps: page.fps,
                                                         engine: page.engine }) }).catch(() => {});
}

// Index i of a side of n pixels reflected at the end, repeatedly (OpenCV's BORDER_REFLECT_101).
function reflect(i, n) {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i %= period;
  return i < n ? i : period - i;
}

function paddedSide(n, multiple) {
  return Math.max(Math.ceil(n / multiple) * multiple, Math.max(multiple, 8));
}

// Each padded position's source index along a side of n pixels (reflect() once per side, not once per pixel).
function reflectedIndices(padded, n) {
  const indices = new Int32Array(padded);
  for (let i = 0; i < padded; i++) indices[i] = reflect(i, n);
  return indices;
}

// Each byte's model value, computed as the per-pixel formula would (a table lookup costs less than the division).
const MODEL_VALUE = Float32Array.from({ length: 256 }, (_, byte) => byte / HALF_RANGE - 1);

// RGBA pixels (w x h) -> the model's input: 1x3xHxW float32 in [-1, 1], reflect-padded. Its buffer is reused from
// frame to frame (frames run one at a time): no 4 MB allocation for the collector at every 640x480 frame.
let inputBuffer = new Float32Array(0);
function toModelInput(rgba, w, h, multiple) {
  const H = paddedSide(h, multiple), W = paddedSide(w, multiple), plane = H * W;
  if (inputBuffer.length !== 3 * plane) inputBuffer = new Float32Array(3 * plane);
  const data = inputBuffer;
  if (H === h && W === w) {  // nothing to pad (a camera's 640x480, say): pixel after pixel, no index tables
    for (let target = 0, source = 0; target < plane; target++, source += 4) {
      data[target] = MODEL_VALUE[rgba[source]];
      data[plane + target] = MODEL_VALUE[rgba[source + 1]];
      data[2 * plane + target] = MODEL_VALUE[rgba[source + 2]];
    }
    return new ort.Tensor("float32", data, [1, 3, H, W]);
  }
  const columns = reflectedIndices(W, w);
  for (let y = 0; y < H; y++) {
    const row = reflect(y, h) * w;
    for (let x = 0, target = y * W; x < W; x++, target++) {
      const source = 4 * (row + columns[x]);
      data[target] = MODEL_VALUE[rgba[source]];
      data[plane + target] = MODEL_VALUE[rgba[source + 1]];
      data[2 * plane + target] = MODEL_VALUE[rgba[source + 2]];
    }
  }
  return new ort.Tensor("float32", data, [1, 3, H, W]);
}

// The model's output (1x3xHxW) -> RGBA pixels of the first h rows and w columns. ImageData's bytes clamp to
// [0, 255] and round half to even as they are written: the Python runtime's clamp to [-1, 1] and rounding.
// The image is reused from frame to frame, opaque from the start: each frame writes only the colours.
let outputImage = null;
function toPixels(tensor, w, h) {
  const [, , H, W] = tensor.dims, plane = H * W, values = tensor.data;
  if (!outputImage || outputImage.width !== w || outputImage.height !== h) {
    outputImage = new ImageData(w, h);
    outputImage.data.fill(255);
  }
  const out = outputImage.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0, source = y * W, target = 4 * y * w; x < w; x++, source++, target += 4) {
      out[target] = (values[source] + 1) * HALF_RANGE;
      out[target + 1] = (values[plane + source] + 1) * HALF_RANGE;
      out[target + 2] = (values[2 * plane + source] + 1) * HALF_RANGE;
    }
  }
  return outputImage;
}

// The next turn of the event loop at once: setTimeout(0) waits at least 4 ms once nested, a sixth of a frame at
// 40 frames/s.
const turns = new MessageChannel();
function nextTurn() {
  return new Promise(resolve => {
    turns.port1.onmessage = () => resolve();
    turns.port2.postMessage(null);
  });
}

// onnxruntime-web's build for the engine: WebGPU where the browser offers an adapter (and ?engine=wasm does not
// say otherwise), else WebAssembly, on several threads where the page is cross-origin isolated.
async function chooseEngine() {
  if (typeof WebAssembly !== "object") {
    throw new Error("This browser cannot run WebAssembly, which the model needs: open the page in a current " +
                    "Chrome, Edge, Firefox or Safari.");
  }
  const wanted = params.get("engine");
  let adapter = null;
  if (navigator.gpu && wanted !== "wasm") {
    adapter = await navigator.gpu.requestAdapter().catch(() => null);
  }
  if (wanted === "webgpu" && !adapter) throw new Error("This browser offers no WebGPU adapter (?engine=webgpu).");
  await loadScript(adapter ? "ort/ort.min.js" : "ort/ort.wasm.min.js");
  const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
  ort.env.wasm.numThreads = threads;
  if (adapter) return { providers: ["webgpu"], name: "WebGPU" };
  return { providers: ["wasm"], name: `wasm, ${threads} thread${threads > 1 ? "s" : ""}` +
    (self.crossOriginIsolated ? "" : " (not cross-origin isolated: serve the folder with cgan serve for threads)") };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${src} could not be loaded: the page folder is incomplete`));
    document.head.appendChild(script);
  });
}

async function loadModel(meta) {
  const engine = await chooseEngine();
  page.engine = engine.name;
  document.getElementById("engine").textContent = page.engine;
  try {
    return await ort.InferenceSession.create(meta.model, { executionProviders: engine.providers,
                                                           graphOptimizationLevel: "all" });
  } catch (error) {
    throw new Error(`The model could not be loaded (${error.message || error}): at ${meta.model_mb} MB it may be ` +
                    "too large for this browser's memory; a student (cgan distill) is a fraction of the size.");
  }
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This page cannot reach a camera here (cameras need https or localhost): drop an image or a " +
                    "video file on the page instead.");
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 },
                                                                        height: { ideal: 480 } } });
    return playing(stream);
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      throw new Error("The camera was refused: allow it in the browser's site settings and reload, or drop an " +
                      "image or a video file on the page.");
    }
    throw new Error("No camera was found: connect one and reload, or drop an image or a video file on the page.");
  }
}

async function playing(source) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.loop = true;
  if (source instanceof MediaStream) video.srcObject = source; else video.src = source;
  await video.play();
  return video;
}

function frameSize(source) {
  return source instanceof HTMLVideoElement ? [source.videoWidth, source.videoHeight] : [source.width, source.height];
}

async function translateFrame(session, meta, source, reader, still) {
  const [w, h] = frameSize(source);
  if (!w || !h) return;
  if (reader.canvas.width !== w || reader.canvas.height !== h) {
    reader.canvas.width = w;
    reader.canvas.height = h;
  }
  const start = performance.now();
  const input = await readPixels(source, reader, w, h);
  const feeds = { [meta.input]: toModelInput(input.data, w, h, meta.size_multiple) };
  const prepared = performance.now();
  const results = await session.run(feeds);
  const ran = performance.now();
  const translated = toPixels(results[meta.output], w, h);
  const both = page.sideBySide.checked;
  if (page.output.width !== (both ? 2 * w : w) || page.output.height !== h) {
    page.output.width = both ? 2 * w : w;
    page.output.height = h;
  }
  const context = page.output.getContext("2d");
  if (both) context.putImageData(input, 0, 0);
  context.putImageData(translated, both ? w : 0, 0);
  page.frames += 1;
  const time = page.stageTotals;
  time.prepare += prepared - start;
  time.model += ran - prepared;
  time.draw += performance.now() - ran;
  if (reportTo && (still || page.frames === 3)) {  // a camera's third frame (it has settled), or a dropped image
    report({ kind: "frame", width: w, height: h, input: encode(input.data), output: encode(translated.data) });
  }
}

// A frame's RGBA pixels. A video's (a camera's, a dropped file's) are copied out of the decoded frame by WebCodecs,
// converted to RGBA on the way: a fifth of the time of drawing it on a canvas and reading the canvas back (0.4
// against 2.2 ms at 640x480 in headless Chromium). The buffer is reused (frames run one at a time). Images, frames
// that drawing would rotate or scale, and a browser without VideoFrame or whose copyTo cannot convert take the canvas.
let frameBytes = null, framesCopied = typeof VideoFrame === "function";
async function readPixels(source, reader, w, h) {
  if (framesCopied && source instanceof HTMLVideoElement) {
    if (!frameBytes || frameBytes.length !== 4 * w * h) frameBytes = new Uint8ClampedArray(4 * w * h);
    let frame = null;
    try {
      frame = new VideoFrame(source);
      const rect = frame.visibleRect;  // a frame stored rotated, flipped or stretched is drawn, which undoes that
      if (rect.width === w && rect.height === h && frame.displayWidth === w && frame.displayHeight === h &&
          !frame.rotation && !frame.flip) {
        await frame.copyTo(frameBytes, { format: "RGBA" });
        page.pixelsFrom = "VideoFrame";
        return new ImageData(frameBytes, w, h);
      }
    } catch (error) {
      framesCopied = false;  // from now on the canvas, which every browser has
    } finally {
      if (frame) frame.close();
    }
  }
  reader.drawImage(source, 0, 0, w, h);
  page.pixelsFrom = "canvas";
  return reader.getImageData(0, 0, w, h);
}

function encode(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function startFrameCounter() {
  let counted = 0, since = performance.now();
  setInterval(() => {
    const now = performance.now(), frames = page.frames - counted;
    page.fps = frames * 1000 / (now - since);
    if (frames > 0) {
      const time = page.stageTotals;
      page.stageMs = { prepare: time.prepare / frames, model: time.model / frames, draw: time.draw / frames };
      document.getElementById("stages").textContent =
        `model ${page.stageMs.model.toFixed(1)} ms, input ${page.stageMs.prepare.toFixed(1)} ms, ` +
        `output ${page.stageMs.draw.toFixed(1)} ms a frame`;
    }
    page.stageTotals = { prepare: 0, model: 0, draw: 0 };
    counted = page.frames;
    since = now;
    document.getElementById("fps").textContent = page.fps.toFixed(1);
    report({ kind: "state", stage_ms: page.stageMs, pixels_from: page.pixelsFrom });
  }, 1000);
}

function saveButtons() {
  const save = document.getElementById("save"), record = document.getElementById("record");
  save.disabled = record.disabled = false;
  save.onclick = () => page.output.toBlob(blob => download(blob, `cgan-${page.frames}.png`), "image/png");
  let recorder = null;
  record.onclick = () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(page.output.captureStream(30), { mimeType: "video/webm" });
    recorder.ondataavailable = event => chunks.push(event.data);
    recorder.onstop = () => {
      download(new Blob(chunks, { type: "video/webm" }), "cgan.webm");
      recorder = null;
      record.textContent = "record WebM";
    };
    recorder.start();
    record.textContent = "stop recording";
  };
}

async function download(blob, name) {
  if (reportTo) {  // tests read what a visitor would save (a headless browser's downloads are out of their reach)
    report({ kind: "download", name, type: blob.type, bytes: encode(new Uint8Array(await blob.arrayBuffer())) });
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function droppedSource(file) {
  const url = URL.createObjectURL(file);
  if (file.type.startsWith("video/")) return playing(url);
  const image = new Image();
  image.src = url;
  await image.decode();
  return image;
}

async function main() {
  const meta = await (await fetch("model.json")).json();
  document.getElementById("title").textContent = `cgan: ${meta.name}`;
  const session = await loadModel(meta);
  const reader = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  let source = null, still = false;
  document.addEventListener("dragover", event => { event.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", async event => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (!file) return;
    try {
      const dropped = await droppedSource(file);
      if (source && source.srcObject) source.srcObject.getTracks().forEach(track => track.stop());  // camera off
      source = dropped;
      still = !(source instanceof HTMLVideoElement);
      say(`Translating ${file.name}.`);
    } catch (error) {
      say(`${file.name} could not be read as an image or a video: ${error.message || error}`, true);
    }
  });
  saveButtons();
  startFrameCounter();
  say("Opening the camera.");
  try {
    source = await openCamera();
    say(`Translating the camera (${meta.name}).`);
  } catch (error) {
    if (!source) say(error.message, true);
  }
  for (;;) {
    if (source) {
      await translateFrame(session, meta, source, reader, still);
      if (still) source = null;  // an image is translated once and stays on the canvas
    }
    await (source ? nextTurn() : new Promise(resolve => setTimeout(resolve, 100)));
  }
}

main().catch(error => say(error.message || String(error), true));
