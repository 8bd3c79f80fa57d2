import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** `nvidia-smi -L` on an A100 host with GPU 0 whole and GPU 1 split into MIG devices (NVIDIA's format). */
export const NVIDIA_SMI_MIG = [
  "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)",
  "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-a9f1c3e2-7d1b-4f0a-9a57-0c5b8e2d4f61)",
  "  MIG 3g.20gb     Device  0: (UUID: MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f)",
  "  MIG 2g.10gb     Device  1: (UUID: MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb)",
  "  MIG 1g.5gb      Device  2: (UUID: MIG-1f0e9a7b-3c5d-5e2f-8a4b-6d7c9e0f1a2b)",
  "",
].join("\n");

/** The same host after GPU 1 was re-partitioned: new MIG UUIDs, one 7g.40gb device. */
export const NVIDIA_SMI_RECONFIGURED = [
  "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)",
  "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-a9f1c3e2-7d1b-4f0a-9a57-0c5b8e2d4f61)",
  "  MIG 7g.40gb     Device  0: (UUID: MIG-7e2d0c4b-9a1f-5b3e-8c6d-2f4a6b8c0d1e)",
  "",
].join("\n");

export type FakeNvidiaSmiMode = "list" | "hang" | "fail";

/**
 * A stand-in `nvidia-smi` in a temp dir: `-L` prints what `set` last gave it, hangs (with a child
 * process holding its output open, as a wedged driver call would) or fails. Put `dir` first on
 * PATH, or pass `command` to the exporter.
 */
export class FakeNvidiaSmi {
  private constructor(readonly dir: string) {}

  get command(): string {
    return path.join(this.dir, "nvidia-smi");
  }

  static async create(output = NVIDIA_SMI_MIG): Promise<FakeNvidiaSmi> {
    const dir = await mkdtemp(path.join(tmpdir(), "fake-nvidia-smi-"));
    const fake = new FakeNvidiaSmi(dir);
    await writeFile(
      fake.command,
      [
        "#!/bin/sh",
        'here=$(dirname "$0")',
        '[ "$1" = "-L" ] || { echo "only -L is faked" >&2; exit 2; }',
        'echo run >> "$here/runs"',
        'mode=$(cat "$here/mode")',
        'if [ "$mode" = hang ]; then sleep 300; exit 0; fi',
        'if [ "$mode" = fail ]; then echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9; fi',
        'cat "$here/output"',
        "",
      ].join("\n"),
    );
    await chmod(fake.command, 0o755);
    await fake.set(output);
    return fake;
  }

  /** What the next `-L` prints; `mode` other than list makes it hang or fail instead. */
  async set(output: string, mode: FakeNvidiaSmiMode = "list"): Promise<void> {
    await writeFile(path.join(this.dir, "output"), output);
    await writeFile(path.join(this.dir, "mode"), mode);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
