// Agent audio playback worklet: a jitter buffer of PCM16 at the server's rate, linearly
// interpolated to the AudioContext's rate. Playback starts once 60 ms are buffered (or when no
// more audio came for 100 ms: the end of an utterance). "clear" empties it at once (barge-in):
// the next 128-sample render quantum is silence, and the worklet answers "cleared".
const PREBUFFER_S = 0.06;
const FLUSH_AFTER_S = 0.1;
const STATS_EVERY = 16; // render quanta (~43 ms at 48 kHz)

class PlayerProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.sourceRate = options.processorOptions.sourceRate;
    this.step = this.sourceRate / sampleRate;
    this.capacity = this.sourceRate * 30;
    this.buffer = new Float32Array(this.capacity);
    this.read = 0;
    this.size = 0;
    this.frac = 0;
    this.playing = false;
    this.played = 0; // source samples rendered to the output
    this.dropped = 0;
    this.lastPush = 0;
    this.quanta = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === "audio") {
      const pcm = new Int16Array(message.pcm);
      for (let i = 0; i < pcm.length; i++) {
        if (this.size === this.capacity) {
          this.dropped += pcm.length - i;
          break;
        }
        this.buffer[(this.read + this.size) % this.capacity] = pcm[i] / 0x8000;
        this.size++;
      }
      this.lastPush = currentFrame;
    } else if (message.type === "clear") {
      const discarded = this.size;
      this.size = 0;
      this.frac = 0;
      this.playing = false;
      this.port.postMessage({ type: "cleared", id: message.id, discarded, played: this.played });
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing) {
      const idle = (currentFrame - this.lastPush) / sampleRate;
      if (this.size >= this.sourceRate * PREBUFFER_S || (this.size > 0 && idle > FLUSH_AFTER_S)) {
        this.playing = true;
      }
    }
    let i = 0;
    if (this.playing) {
      for (; i < out.length; i++) {
        if (this.size < 2) {
          this.playing = false; // underrun: wait for the next prebuffer
          break;
        }
        const s0 = this.buffer[this.read];
        const s1 = this.buffer[(this.read + 1) % this.capacity];
        out[i] = s0 + (s1 - s0) * this.frac;
        this.frac += this.step;
        while (this.frac >= 1) {
          this.frac -= 1;
          this.read = (this.read + 1) % this.capacity;
          this.size--;
          this.played++;
        }
      }
    }
    out.fill(0, i);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (++this.quanta % STATS_EVERY === 0) {
      this.port.postMessage({
        type: "stats",
        played: this.played,
        buffered: this.size,
        playing: this.playing,
        dropped: this.dropped,
      });
    }
    return true;
  }
}

registerProcessor("parley-player", PlayerProcessor);
