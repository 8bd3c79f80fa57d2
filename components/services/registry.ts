import type { ServiceName } from "../spec";
import type { ServiceDescriptor } from "./descriptor";

/**
 * The registered services, in registration order: the order of the scrape jobs, the containers,
 * the status table and the docs. Built-in services register in ./builtin.ts; a stack or a test
 * adds its own with `registerService(descriptor)` before the stack config is loaded. This module
 * imports nothing at run time, so every layer can read it.
 */
const registered: ServiceDescriptor[] = [];
const names: string[] = [];

/** A live, read-only view of the registered names (SERVICE_NAMES). */
export const REGISTERED_SERVICE_NAMES: readonly string[] = names;

const CAMEL_CASE = /^[a-z][a-zA-Z0-9]{0,30}$/;

/** Adds a service; its name must be new and camelCase (it becomes config keys and, kebab-cased, object names). */
export function registerService(descriptor: ServiceDescriptor): void {
  if (!CAMEL_CASE.test(descriptor.name)) {
    throw new Error(`service name ${JSON.stringify(descriptor.name)} is not camelCase (a letter, then letters and digits, up to 31)`);
  }
  if (names.includes(descriptor.name)) throw new Error(`a service named ${descriptor.name} is registered already`);
  registered.push(descriptor);
  names.push(descriptor.name);
}

/** Every registered service, in registration order. */
export function registeredServices(): readonly ServiceDescriptor[] {
  return registered;
}

/** The descriptor of a registered service; throws naming the registered ones otherwise. */
export function serviceDescriptor(name: string): ServiceDescriptor {
  const d = registered.find((s) => s.name === name);
  if (!d) throw new Error(`no service named ${name} is registered (registered: ${names.join(", ") || "none"})`);
  return d;
}

/** The descriptor of a registered service, or undefined. */
export function findServiceDescriptor(name: string): ServiceDescriptor | undefined {
  return registered.find((s) => s.name === name);
}

/**
 * Builds a table keyed by service from the registered descriptors, in registration order. The
 * built-in keys are always there once ./builtin.ts is loaded; the type says so.
 */
export function perService<T>(value: (d: ServiceDescriptor) => T): Readonly<Record<ServiceName, T>> {
  return Object.fromEntries(registered.map((d) => [d.name, value(d)])) as Record<ServiceName, T>;
}

/**
 * A table keyed by service that reads the registered services each time it is read, for the
 * constants code imported before the tables were derived (DEFAULT_IMAGES, SERVICE_BUILDERS, ...).
 */
export function liveServiceTable<T>(read: () => Readonly<Record<ServiceName, T>>): Readonly<Record<ServiceName, T>> {
  return new Proxy({} as Record<ServiceName, T>, {
    get: (_target, key) => (typeof key === "string" ? read()[key] : undefined),
    has: (_target, key) => typeof key === "string" && key in read(),
    ownKeys: () => Reflect.ownKeys(read()),
    getOwnPropertyDescriptor: (_target, key) => {
      const table = read();
      return typeof key === "string" && key in table ? { value: table[key], enumerable: true, configurable: true, writable: false } : undefined;
    },
  });
}
