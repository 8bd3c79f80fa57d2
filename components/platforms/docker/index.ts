export * from "./convert";
export * from "./platform";
