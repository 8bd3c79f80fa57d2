export * from "./defaults";
export * from "./errors";
export * from "./load";
export * from "./resolve";
export * from "./schema";
