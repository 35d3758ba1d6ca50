// Microphone in, agent audio out: one AudioContext, a capture worklet and a player worklet.
const CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

export class AudioIO {
  /**
   * @param {number} rate Server sample rate, Hz (PCM16 mono both ways).
   * @param {(frame: ArrayBuffer) => void} onFrame Called with each 20 ms capture frame.
   * @param {(message: object) => void} onPlayer Called with the player's stats/cleared messages.
   */
  constructor(rate, onFrame, onPlayer) {
    this.rate = rate;
    this.onFrame = onFrame;
    this.onPlayer = onPlayer;
    this.context = null;
    this.stream = null;
    this.source = null;
    this.muted = false;
  }

  async start(muted) {
    this.muted = muted;
    this.context = new AudioContext({ latencyHint: "interactive" });
    await this.context.audioWorklet.addModule("/static/worklets/capture.js");
    await this.context.audioWorklet.addModule("/static/worklets/player.js");
    this.capture = new AudioWorkletNode(this.context, "parley-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      processorOptions: { targetRate: this.rate, muted },
    });
    this.capture.port.onmessage = (event) => this.onFrame(event.data);
    // The capture node must be pulled by the graph to run; a silent gain keeps it pulled.
    const sink = new GainNode(this.context, { gain: 0 });
    this.capture.connect(sink).connect(this.context.destination);
    this.player = new AudioWorkletNode(this.context, "parley-player", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [this.context.destination.channelCount],
      processorOptions: { sourceRate: this.rate },
    });
    this.player.port.onmessage = (event) => this.onPlayer(event.data);
    this.player.connect(this.context.destination);
    await this.context.resume();
    if (!muted) await this.openMicrophone();
  }

  async openMicrophone() {
    this.stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
    this.source = this.context.createMediaStreamSource(this.stream);
    this.source.connect(this.capture);
  }

  closeMicrophone() {
    if (this.source) this.source.disconnect();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.source = null;
    this.stream = null;
  }

  /** Mute closes the microphone (its indicator goes off); silence frames keep flowing. */
  async setMuted(muted) {
    this.muted = muted;
    this.capture.port.postMessage({ type: "mute", muted });
    if (muted) this.closeMicrophone();
    else if (!this.stream) await this.openMicrophone();
  }

  play(pcm) {
    this.player.port.postMessage({ type: "audio", pcm }, [pcm]);
  }

  clear(id) {
    this.player.port.postMessage({ type: "clear", id });
  }

  /** Output latency beyond the render quantum, ms (what the speaker adds after "cleared"). */
  outputLatencyMs() {
    const c = this.context;
    return c ? ((c.outputLatency || 0) + (c.baseLatency || 0)) * 1000 : 0;
  }

  async stop() {
    this.closeMicrophone();
    if (this.context) await this.context.close();
    this.context = null;
  }
}
