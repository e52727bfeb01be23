// handwire compile: build every model of a spec and write its weights
// (safetensors) and config (JSON), or one ONNX file per model, to the output
// directory.
#include "Commands.h"
#include "Report.h"

#include "codegen/EmitLLVM.h"
#include "export/Onnx.h"

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
  const int64_t limit = parseByteSize(o.common.memoryLimit);
  for (const LoadedModel &m : loaded.models) {
    const std::string stem =
        std::string(taskKindName(m.task.kind)) + "." + m.net.name;
    std::string path;
    try {
      path = writeOnnx(m.task, m.net, o.output, stem, limit);
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

int runCompile(const CompileCliOptions &o) {
  LoadedModels loaded;
  if (!loadModels(o.common, loaded))
    return 1;
  nlohmann::json out = {{"input", o.common.input},
                        {"models", nlohmann::json::array()}};
  if (o.emit == "onnx")
    return writeOnnxFiles(o, loaded);
  if (o.emit != "weights") {
    // --emit=llvm|llvm-opt|asm: print the generated code instead of writing
    // files.
    const bool text = o.emit == "llvm" || o.emit == "llvm-opt";
    for (const LoadedModel &m : loaded.models) {
      std::cout << "; model " << m.net.name << " ("
                << m.net.provenance.construction << ", "
                << precisionName(m.net.precision) << ")\n";
      // A 16-bit model rounds its stored values (vcvt*).
      const ForwardPlan plan =
          planForward(m.net, storageFormatOf(m.net.precision));
      const std::unique_ptr<LlvmModule> module = emitModule(plan, m.net.name);
      if (o.emit != "llvm")
        optimizeModule(*module);
      std::cout << (text ? moduleText(*module) : assemblyText(*module));
    }
    return 0;
  }
  for (const LoadedModel &m : loaded.models) {
    const std::string stem =
        std::string(taskKindName(m.task.kind)) + "." + m.net.name;
    ModelPaths paths;
    try {
      paths = writeModel(m.task, m.net, o.output, stem);
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
         "what to produce: weights (safetensors + JSON), onnx (one .onnx per "
         "model, opset 13), llvm (IR as emitted), llvm-opt (after O3), asm "
         "(host assembly); code in the model's precision (f16 / bf16: "
         "rounded with the host's conversions)")
      ->check(CLI::IsMember({"weights", "onnx", "llvm", "llvm-opt", "asm"}))
      ->capture_default_str();
  cmd->callback([opts] {
    if (int rc = runCompile(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
