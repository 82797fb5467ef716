import Foundation
import PackagePlugin

/// Embeds openapi/openapi.yaml into the Gateway module (`OpenAPISpec.text`), so the binary serves the very spec
/// in the repository at `GET /openapi.yaml`, with no file to install beside it.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let spec = context.package.directoryURL.appending(path: "openapi/openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPISpec.swift")
        return [
            .buildCommand(
                displayName: "Embedding openapi/openapi.yaml",
                executable: try context.tool(named: "EmbedFile").url,
                arguments: [spec.path, output.path, "OpenAPISpec"],
                inputFiles: [spec],
                outputFiles: [output])
        ]
    }
}
