// Follow a run over its three SSE channels; each channel closes on its terminal event.

export const CHANNELS = ["status", "logs", "recommendations"];
const STREAM_CLOSE_GRACE_MS = 1500;

export function isTerminal(data) {
  return Boolean(data) && (data.status === "complete" || data.status === "error") && !data.type;
}

/**
 * Open the status, logs and recommendations streams of one run.
 * handlers: onStatus(data), onLog(data), onRecommendation(film), onEnd(channel, data),
 * onLost(channel) when the server refuses a channel for good, onReconnecting(channel).
 * The browser resends Last-Event-ID when it reconnects; ids already seen are skipped as well.
 */
export class RunStreams {
  constructor(requestId, handlers) {
    this.requestId = requestId;
    this.handlers = handlers;
    this.sources = new Map();
    this.seen = new Map(CHANNELS.map((channel) => [channel, new Set()]));
    this.ended = new Set();
  }

  open() {
    for (const channel of CHANNELS) this.openChannel(channel);
  }

  openChannel(channel) {
    const url = `/api/${channel}-stream?request_id=${encodeURIComponent(this.requestId)}`;
    const source = new EventSource(url);
    this.sources.set(channel, source);
    source.addEventListener("message", (event) => this.receive(channel, event));
    source.addEventListener("error", () => {
      if (this.ended.has(channel)) {
        // The server closed the finished stream: stop the browser from reconnecting.
        this.closeChannel(channel);
        return;
      }
      if (source.readyState === EventSource.CLOSED) {
        this.sources.delete(channel);
        this.handlers.onLost?.(channel);
      } else {
        this.handlers.onReconnecting?.(channel);
      }
    });
  }

  receive(channel, event) {
    const seen = this.seen.get(channel);
    if (event.lastEventId) {
      if (seen.has(event.lastEventId)) return;
      seen.add(event.lastEventId);
    }
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (isTerminal(data)) {
      this.endChannel(channel);
      this.handlers.onEnd?.(channel, data);
      return;
    }
    if (channel === "status") this.handlers.onStatus?.(data);
    else if (channel === "logs") this.handlers.onLog?.(data);
    else if (data.type === "recommendation" && data.recommendation) this.handlers.onRecommendation?.(data.recommendation);
  }

  /**
   * A terminal event arrived. The server ends the response right after it; closing the
   * EventSource before that end arrives aborts the request mid-body, which can leave the
   * browser's connection to the server unusable for a while, so let the response finish
   * and close on the stream's end (or after a short grace period at the latest).
   */
  endChannel(channel) {
    this.ended.add(channel);
    window.setTimeout(() => this.closeChannel(channel), STREAM_CLOSE_GRACE_MS);
  }

  closeChannel(channel) {
    this.ended.add(channel);
    const source = this.sources.get(channel);
    if (source) source.close();
    this.sources.delete(channel);
  }

  close() {
    for (const channel of CHANNELS) {
      if (this.ended.has(channel)) this.endChannel(channel);
      else this.closeChannel(channel);
    }
  }
}
