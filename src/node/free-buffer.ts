import { MessageChannel, type MessagePort } from "node:worker_threads";
import { setBufferDiscarder } from "../engine/sketch.js";

/**
 * A port whose other end is gone: a buffer transferred into it is detached from this thread and its memory freed
 * with the dropped message, at once. Node 20 has no `ArrayBuffer.prototype.transfer`, and the collector frees a
 * large dead buffer only after tens of megabytes of them have piled up.
 */
let closed: MessagePort | undefined;

/** Free an ArrayBuffer's memory now; every view of it becomes empty, so nothing may read it afterwards. */
export function freeBufferNow(buffer: ArrayBuffer): void {
  if (!closed) {
    const { port1, port2 } = new MessageChannel();
    port2.close();
    port1.close();
    closed = port1;
  }
  try {
    closed.postMessage(null, [buffer]);
  } catch {
    // A buffer that cannot be detached (e.g. a Node Buffer's pool) is left to the collector.
  }
}

/** Have this thread's summaries free the buffers they drop at once (see `setBufferDiscarder`). */
export function freeDroppedBuffers(): void {
  setBufferDiscarder(freeBufferNow);
}
