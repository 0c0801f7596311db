/**
 * App data client. All data lives with the host page, reached through postMessage:
 * requests are posted to window.parent as
 *   { type: "second:data", requestId, op, collection, id?, data? }
 * and answered by a message carrying the same requestId:
 *   { type: "second:data:result", requestId, ok, result?, error? }
 * The host may also post { type: "second:data:changed", collection } so open views refresh.
 * Never store app data in localStorage or sessionStorage.
 */
import { useCallback, useEffect, useRef, useState } from "react";

export type DataOp = "list" | "get" | "insert" | "update" | "remove";

export type Doc<T> = T & { id: string };

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

const TIMEOUT_MS = 15000;
const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: number }>();
const changeListeners = new Set<(collection: string) => void>();
let listening = false;
let counter = 0;

function isHostMessage(event: MessageEvent): boolean {
  return event.source === window.parent && typeof event.data === "object" && event.data !== null;
}

function ensureListener(): void {
  if (listening) return;
  listening = true;
  window.addEventListener("message", (event: MessageEvent) => {
    if (!isHostMessage(event)) return;
    const msg = event.data as { type?: unknown; requestId?: unknown; ok?: unknown; result?: unknown; error?: unknown; collection?: unknown };
    if (msg.type === "second:data:changed" && typeof msg.collection === "string") {
      changeListeners.forEach((fn) => fn(msg.collection as string));
      return;
    }
    if (msg.type !== "second:data:result" || typeof msg.requestId !== "string") return;
    const entry = pending.get(msg.requestId);
    if (!entry) return;
    pending.delete(msg.requestId);
    window.clearTimeout(entry.timer);
    if (msg.ok === false) entry.reject(new Error(typeof msg.error === "string" && msg.error ? msg.error : "request failed"));
    else entry.resolve(msg.result);
  });
}

/** Sends one data request to the host page and resolves with its result. */
export function request<R>(op: DataOp, collection: string, extra: { id?: string; data?: unknown } = {}): Promise<R> {
  if (window.parent === window) {
    return Promise.reject(new Error("App data is only available inside the host page"));
  }
  ensureListener();
  counter += 1;
  const requestId = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  const message: DataRequest = { type: "second:data", requestId, op, collection, ...extra };
  return new Promise<R>((resolve, reject) => {
    const timer = window.setTimeout(() => {
      pending.delete(requestId);
      reject(new Error(`No answer for ${op} on "${collection}"`));
    }, TIMEOUT_MS);
    pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject, timer });
    window.parent.postMessage(message, "*");
  });
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function useChanges(collection: string, reload: () => void): void {
  const ref = useRef(reload);
  ref.current = reload;
  useEffect(() => {
    ensureListener();
    const fn = (c: string) => {
      if (c === collection) ref.current();
    };
    changeListeners.add(fn);
    return () => {
      changeListeners.delete(fn);
    };
  }, [collection]);
}

export interface CollectionState<T> {
  data: Doc<T>[];
  loading: boolean;
  error: Error | null;
  reload: () => Promise<void>;
  insert: (doc: T) => Promise<Doc<T>>;
  update: (id: string, patch: Partial<T>) => Promise<Doc<T>>;
  remove: (id: string) => Promise<void>;
}

/** All documents of a collection, with mutations that refresh the list. */
export function useCollection<T extends object = Record<string, unknown>>(collection: string): CollectionState<T> {
  const [data, setData] = useState<Doc<T>[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);

  const reload = useCallback(async () => {
    try {
      const docs = await request<Doc<T>[]>("list", collection);
      setData(Array.isArray(docs) ? docs : []);
      setError(null);
    } catch (e) {
      setError(toError(e));
    } finally {
      setLoading(false);
    }
  }, [collection]);

  useEffect(() => {
    setLoading(true);
    void reload();
  }, [reload]);
  useChanges(collection, () => void reload());

  const insert = useCallback(
    async (doc: T) => {
      const created = await request<Doc<T>>("insert", collection, { data: doc });
      await reload();
      return created;
    },
    [collection, reload],
  );
  const update = useCallback(
    async (id: string, patch: Partial<T>) => {
      const updated = await request<Doc<T>>("update", collection, { id, data: patch });
      await reload();
      return updated;
    },
    [collection, reload],
  );
  const remove = useCallback(
    async (id: string) => {
      await request<void>("remove", collection, { id });
      await reload();
    },
    [collection, reload],
  );

  return { data, loading, error, reload, insert, update, remove };
}

export interface DocState<T> {
  data: Doc<T> | null;
  loading: boolean;
  error: Error | null;
  reload: () => Promise<void>;
  insert: (doc: T) => Promise<Doc<T>>;
  update: (patch: Partial<T>) => Promise<Doc<T>>;
  remove: () => Promise<void>;
}

/** One document by id; insert creates it under that id. */
export function useDoc<T extends object = Record<string, unknown>>(collection: string, id: string): DocState<T> {
  const [data, setData] = useState<Doc<T> | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);

  const reload = useCallback(async () => {
    try {
      const doc = await request<Doc<T> | null>("get", collection, { id });
      setData(doc ?? null);
      setError(null);
    } catch (e) {
      setError(toError(e));
    } finally {
      setLoading(false);
    }
  }, [collection, id]);

  useEffect(() => {
    setLoading(true);
    void reload();
  }, [reload]);
  useChanges(collection, () => void reload());

  const insert = useCallback(
    async (doc: T) => {
      const created = await request<Doc<T>>("insert", collection, { id, data: doc });
      setData(created);
      return created;
    },
    [collection, id],
  );
  const update = useCallback(
    async (patch: Partial<T>) => {
      const updated = await request<Doc<T>>("update", collection, { id, data: patch });
      setData(updated);
      return updated;
    },
    [collection, id],
  );
  const remove = useCallback(async () => {
    await request<void>("remove", collection, { id });
    setData(null);
  }, [collection, id]);

  return { data, loading, error, reload, insert, update, remove };
}
