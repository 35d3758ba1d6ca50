// Microphone capture worklet: resamples the AudioContext's rate to the server's rate (a box
// filter, which is also the anti-alias low-pass) and posts 20 ms PCM16 little-endian frames.
// The protocol is docs/browser-protocol.md; AudioWorklet is the Web Audio API's
// "AudioWorkletProcessor" (https://developer.mozilla.org/en-US/docs/Web/API/AudioWorkletProcessor).
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const target = options.processorOptions.targetRate;
    this.ratio = sampleRate / target; // input samples per output sample
    this.frameSamples = Math.round(target / 50); // 20 ms
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.phase = 0;
    this.sum = 0;
    this.count = 0;
    this.muted = Boolean(options.processorOptions.muted);
    this.port.onmessage = (event) => {
      if (event.data.type === "mute") this.muted = event.data.muted;
    };
  }

  emit(value) {
    const v = this.muted ? 0 : Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
    if (this.filled === this.frameSamples) {
      // Int16Array is little-endian on every platform browsers run on.
      this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
      this.frame = new Int16Array(this.frameSamples);
      this.filled = 0;
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    // No microphone connected (muted or not yet granted): keep sending silence so the
    // server's endpointing and idle timer see a live caller.
    const n = channel ? channel.length : 128;
    for (let i = 0; i < n; i++) {
      this.sum += channel ? channel[i] : 0;
      this.count++;
      this.phase += 1;
      if (this.phase >= this.ratio) {
        this.phase -= this.ratio;
        this.emit(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
      }
    }
    return true;
  }
}

registerProcessor("parley-capture", CaptureProcessor);
