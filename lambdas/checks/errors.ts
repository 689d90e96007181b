export class AnalyzerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalyzerError';
  }
}

export class ExtensionMissingError extends AnalyzerError {
  constructor(
    readonly extension: string,
    detail: string,
  ) {
    super(`${extension} is not available: ${detail}`);
    this.name = 'ExtensionMissingError';
  }
}
