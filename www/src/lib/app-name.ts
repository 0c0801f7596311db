// A first name for a new app, taken from the prompt: the request's subject, without the
// "build me a…" preamble, in at most a few words.

const LEAD =
  /^(?:(?:hi|hey|hello)[,!.]?\s+)?(?:please\s+)?(?:(?:can|could|would) you\s+)?(?:(?:i(?:'d| would)? (?:want|need|like)(?: you)? to\s+)|(?:i(?:'d| would)? (?:want|need|like)\s+)|(?:let'?s\s+)|(?:help me\s+))?(?:(?:build|create|make|design|generate|develop|write|set up|put together|give me|spin up)\s+)?(?:me\s+|us\s+)?(?:(?:a|an|the|some|simple|small|quick|basic|little|new)\s+)*/i;

const SMALL = new Set(["a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"]);

export function appNameFromPrompt(prompt: string, maxWords = 6): string {
  const firstLine = prompt.trim().split(/\n|(?<=[.!?])\s/)[0] ?? "";
  const subject = firstLine.replace(LEAD, "").replace(/[.!?:;,]+$/, "").trim();
  const words = subject.split(/\s+/).filter(Boolean).slice(0, maxWords);
  while (words.length > 1 && SMALL.has(words[words.length - 1].toLowerCase())) words.pop();
  let name = words
    .map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w))
    .join(" ")
    .replace(/[^\p{L}\p{N}\s&'()+.-]/gu, "")
    .trim();
  if (name.length > 80) name = name.slice(0, 80).trim();
  return name.length >= 2 ? name : "Untitled app";
}
