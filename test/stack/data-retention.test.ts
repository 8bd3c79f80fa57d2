import { describe, expect, it } from "vitest";
import { runK8sStack } from "../kubernetes/harness";
import { ofType, runStack, VOLUME } from "./harness";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";

describe("data kept across destroy and renames (Docker)", () => {
  it("data volumes are retained on delete by default, not protected, and ignore a name change", async () => {
    const run = await runStack("dev");
    expect(run.error).toBeUndefined();
    const volumes = ofType(run, VOLUME);
    expect(volumes.length).toBeGreaterThanOrEqual(3);
    for (const v of volumes) {
      expect(v.options.retainOnDelete, v.name).toBe(true);
      expect(v.options.protect, v.name).toBe(false);
      expect(v.options.ignoreChanges, v.name).toContain("name");
      expect(v.options.aliases, v.name).toBe(1);
    }
    // Nothing but data is retained: containers and images go with the stack.
    for (const r of run.resources.filter((r) => r.custom && r.type !== VOLUME)) expect(r.options.retainOnDelete, r.type).toBe(false);
  });

  it("a namePrefix change keeps every volume's Pulumi identity (no replacement, no new empty volume)", async () => {
    const before = await runStack("dev");
    const after = await runStack("dev", { plain: { namePrefix: "renamed-stack" } });
    const urns = (run: typeof before) => ofType(run, VOLUME).map((v) => v.urn).sort();
    expect(urns(after)).toEqual(urns(before));
    // The volume's own name follows the prefix only at creation; ignoreChanges keeps an existing one.
    expect(ofType(after, VOLUME).every((v) => String(v.inputs["name"]).startsWith("renamed-stack-"))).toBe(true);
  });

  it("data.protect and data.retainOnDelete are honoured", async () => {
    const run = await runStack("dev", { plain: { data: { protect: true, retainOnDelete: false } } });
    for (const v of ofType(run, VOLUME)) {
      expect(v.options.protect, v.name).toBe(true);
      expect(v.options.retainOnDelete, v.name).toBe(false);
    }
  });

  it("data settings of the wrong type or unknown keys are refused, naming the key", async () => {
    for (const data of [{ protect: "yes" }, { retainOnDelete: 1 }, { keep: true }, "everything"]) {
      const run = await runStack("dev", { plain: { data } });
      expect(String(run.error), JSON.stringify(data)).toMatch(/data/);
    }
  });
});

describe("data kept across destroy and renames (Kubernetes)", () => {
  it("the Namespace and every PersistentVolumeClaim are retained on delete; StatefulSet claims are retained too", async () => {
    const run = await runK8sStack();
    const ns = run.resources.filter((r) => r.type === NAMESPACE);
    expect(ns.length).toBe(1);
    expect(ns[0]!.options.retainOnDelete).toBe(true);
    const claims = run.resources.filter((r) => r.type === PVC);
    expect(claims.length).toBeGreaterThanOrEqual(1);
    for (const c of claims) expect(c.options.retainOnDelete, c.name).toBe(true);
    const sets = run.objects.filter((o) => o.kind === "StatefulSet");
    expect(sets.length).toBeGreaterThanOrEqual(1);
    for (const s of sets) {
      expect((s["spec"] as { persistentVolumeClaimRetentionPolicy?: unknown }).persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    }
    expect(run.resources.filter((r) => r.type === STATEFUL_SET).every((r) => !r.options.retainOnDelete)).toBe(true);
  });

  it("data.protect protects the Namespace and the claims", async () => {
    const run = await runK8sStack({ plain: { data: { protect: true } } });
    for (const r of run.resources.filter((r) => r.type === NAMESPACE || r.type === PVC)) expect(r.options.protect, r.name).toBe(true);
  });
});
