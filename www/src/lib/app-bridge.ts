// The parent side of the app data bridge (workerd/template/src/lib/second-sdk.ts). A built
// app runs in a sandboxed, opaque-origin frame and asks the host page for its data with
//   {type: "second:data", requestId, op, collection, id?, data?}
// and is answered with
//   {type: "second:data:result", requestId, ok, result?, error?}.
// Only messages from the preview frame's own window are answered. There is no app data API on
// the server yet, so every request is refused with a clear error; `handle` is the one place to
// wire it to the API later.

export type DataOp = "list" | "get" | "insert" | "update" | "remove";

export interface DataRequest {
  type: "second:data";
  requestId: string;
  op: DataOp;
  collection: string;
  id?: string;
  data?: unknown;
}

export interface DataResult {
  type: "second:data:result";
  requestId: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

const OPS: readonly string[] = ["list", "get", "insert", "update", "remove"];

function isDataRequest(v: unknown): v is DataRequest {
  if (!v || typeof v !== "object") return false;
  const m = v as Record<string, unknown>;
  return (
    m.type === "second:data" &&
    typeof m.requestId === "string" &&
    m.requestId.length > 0 &&
    m.requestId.length <= 200 &&
    typeof m.op === "string" &&
    OPS.includes(m.op) &&
    typeof m.collection === "string"
  );
}

export interface BridgeContext {
  workspaceId: string;
  appId: string;
  version: "draft" | "published";
}

async function handle(req: DataRequest, ctx: BridgeContext): Promise<Omit<DataResult, "type" | "requestId">> {
  void req;
  void ctx;
  return { ok: false, error: "App data is not available yet" };
}

/** Answers data requests of the frame `getFrame()` returns; call the result to stop. */
export function attachAppDataBridge(getFrame: () => HTMLIFrameElement | null, ctx: BridgeContext): () => void {
  const onMessage = (event: MessageEvent) => {
    const frame = getFrame();
    const source = frame?.contentWindow;
    if (!source || event.source !== source) return;
    if (!isDataRequest(event.data)) return;
    const { requestId } = event.data;
    void handle(event.data, ctx)
      .catch((err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : "Request failed" }))
      .then((reply) => {
        const message: DataResult = { type: "second:data:result", requestId, ...reply };
        // The frame's origin is opaque ("null"), so "*" is the only target that reaches it;
        // the reply goes to that one window only.
        source.postMessage(message, "*");
      });
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
