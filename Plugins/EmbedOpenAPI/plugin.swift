import Foundation
import PackagePlugin

/// Embeds files of the repository into the Gateway module, so the binary serves them with no file to install beside
/// it: openapi/openapi.yaml (`OpenAPISpec.text`, at `GET /openapi.yaml`) and the dashboard in dashboard/
/// (`DashboardPage`, `DashboardScript`, `DashboardStyle`, `DashboardIcon`, at `/` and under `/ui/`).
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let files = [
            ("openapi/openapi.yaml", "OpenAPISpec"), ("dashboard/index.html", "DashboardPage"),
            ("dashboard/dashboard.js", "DashboardScript"), ("dashboard/dashboard.css", "DashboardStyle"),
            ("dashboard/icon.svg", "DashboardIcon"),
        ]
        return try files.map { path, name in
            let input = context.package.directoryURL.appending(path: path)
            let output = context.pluginWorkDirectoryURL.appending(path: "\(name).swift")
            return .buildCommand(
                displayName: "Embedding \(path)",
                executable: try context.tool(named: "EmbedFile").url,
                arguments: [input.path, output.path, name],
                inputFiles: [input],
                outputFiles: [output])
        }
    }
}
