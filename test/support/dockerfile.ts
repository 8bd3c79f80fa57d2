/** Instructions of a Dockerfile with continuation lines joined and comments dropped. */
export function dockerfileInstructions(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}
