// handwire compile: build every model of a spec and write its weights
// (safetensors) and config (JSON), or one ONNX file per model, to the output
// directory.
#include "Commands.h"
#include "Report.h"

#include "codegen/EmitLLVM.h"
#include "driver/StageDump.h"
#include "export/Onnx.h"
#include "jit/JitBackend.h"

#include <iostream>

namespace handwire::cli {

namespace {
struct CompileCliOptions {
  CommonOptions common;
  std::string output = "out";
  std::string emit = "weights";
};

// --emit onnx: DIR/TASK.MODEL.onnx per model, each passed by the ONNX checker.
int writeOnnxFiles(const CompileCliOptions &o, const LoadedModels &loaded) {
  nlohmann::json out = {{"input", o.common.input},
                        {"models", nlohmann::json::array()}};
  DiagnosticEngine diags;
  PipelineOptions po;
  po.compile.memoryLimitBytes = parseByteSize(o.common.memoryLimit);
  Pipeline pipeline(po, diags);
  for (const LoadedModel &m : loaded.models) {
    std::string path;
    try {
      path = pipeline
                 .exportModel(m.task, m.net, o.output,
                              Pipeline::ExportFormat::Onnx)
                 .front();
    } catch (const UserError &e) {
      std::cerr << "handwire: error: " << e.what() << "\n";
      return 1;
    }
    if (o.common.json) {
      out["models"].push_back({{"name", m.net.name},
                               {"onnx", path},
                               {"opset", kOnnxOpset},
                               {"weight_bytes", onnxWeightBytes(m.net)},
                               {"certified", m.net.certificate.certified}});
    } else {
      printModelLine(std::cout, m.net);
      std::cout << "  wrote " << path << " (ONNX opset " << kOnnxOpset
                << ", checked)\n";
    }
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
  return 0;
}

// --emit STAGE for the stages before export: the stage's result as text.
std::string stageText(Stage stage, const StageResult &r) {
  switch (stage) {
  case Stage::Parse:
    return dumpAst(*r.ast);
  case Stage::Sema:
    return dumpSpec(*r.spec);
  case Stage::Construct:
    return dumpNetwork(*r.network);
  case Stage::Certify:
    return "certificate " + r.network->name + "\n" +
           certificateJson(*r.network).dump(2) + "\n";
  case Stage::Plan:
    return dumpPlan(*r.plan);
  case Stage::EmitLLVM:
  case Stage::Optimize:
    return moduleText(*r.module);
  case Stage::Link:
    return assemblyText(*r.module);
  case Stage::Export:
    break;
  }
  return "";
}

// Runs the pipeline up to `until` (before export) and prints its result.
int printStage(const CompileCliOptions &o, Stage until) {
  const StageObserver show = [until](Stage s, const StageResult &r) {
    if (s == until)
      std::cout << stageText(s, r) << std::flush;
  };
  LoadedModels loaded;
  if (!loadModels(o.common, loaded,
                  until <= Stage::Certify ? show : StageObserver{}))
    return 1;
  if (!loaded.fromSpec && until <= Stage::Sema) {
    std::cerr << "handwire: error: --emit " << o.emit << " needs a .task "
              << "spec; '" << o.common.input << "' is a compiled model\n";
    return 1;
  }
  if (!loaded.fromSpec && until <= Stage::Certify)
    for (const LoadedModel &m : loaded.models)
      show(until, &m.net); // a model file enters after stage 4
  if (until <= Stage::Certify)
    return 0;
  for (const LoadedModel &m : loaded.models) {
    std::cout << "; model " << m.net.name << " ("
              << m.net.provenance.construction << ", "
              << precisionName(m.net.precision) << ")\n";
    DiagnosticEngine diags;
    PipelineOptions po;
    po.observer = show;
    // A 16-bit model's code rounds its stored values (vcvt*).
    Pipeline(po, diags).native(m.net, storageFormatOf(m.net.precision));
  }
  return 0;
}

int runCompile(const CompileCliOptions &o) {
  const Stage until = *stageForEmit(o.emit);
  if (until != Stage::Export)
    return printStage(o, until);
  LoadedModels loaded;
  if (!loadModels(o.common, loaded))
    return 1;
  if (o.emit == "onnx")
    return writeOnnxFiles(o, loaded);
  nlohmann::json out = {{"input", o.common.input},
                        {"models", nlohmann::json::array()}};
  DiagnosticEngine diags;
  Pipeline pipeline({}, diags);
  for (const LoadedModel &m : loaded.models) {
    ModelPaths paths;
    try {
      const auto written = pipeline.exportModel(
          m.task, m.net, o.output, Pipeline::ExportFormat::Weights);
      paths.weights = written[0];
      paths.config = written[1];
    } catch (const UserError &e) {
      std::cerr << "handwire: error: " << e.what() << "\n";
      return 1;
    }
    if (o.common.json) {
      out["models"].push_back({{"name", m.net.name},
                               {"config", paths.config},
                               {"weights", paths.weights},
                               {"width", m.net.width},
                               {"parameters", parameterCount(m.net)},
                               {"certified", m.net.certificate.certified}});
    } else {
      printModelLine(std::cout, m.net);
      std::cout << "  wrote " << paths.weights << "\n  wrote " << paths.config
                << "\n";
    }
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
  return 0;
}
} // namespace

void setupCompile(CLI::App &app) {
  auto opts = std::make_shared<CompileCliOptions>();
  CLI::App *cmd = app.add_subcommand(
      "compile",
      "Build, verify and certify every model of a spec; write weights "
      "(.safetensors) and config (.json), or ONNX (--emit onnx)");
  addCommonOptions(*cmd, opts->common);
  cmd->add_option("-o,--output", opts->output, "output directory")
      ->capture_default_str();
  cmd->add_option(
         "--emit", opts->emit,
         "run the pipeline up to a stage and print its result: ast, spec, "
         "network, certificate, plan, llvm (IR as emitted), llvm-opt (after "
         "O3), asm (host assembly); or write files: weights (safetensors + "
         "JSON), onnx (one .onnx per model, opset 13). Code is in the "
         "model's precision (f16 / bf16: rounded with the host's "
         "conversions)")
      ->check(CLI::IsMember(emitNames()))
      ->capture_default_str();
  cmd->callback([opts] {
    if (int rc = runCompile(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
