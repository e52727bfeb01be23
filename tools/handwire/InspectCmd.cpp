// handwire inspect: per-tensor shapes, sizes in bits, the lower bound that
// applies, and a verdict, for every model of a spec (or a compiled model).
#include "Commands.h"
#include "Report.h"

#include "analysis/SeparationCard.h"

#include <iostream>

namespace handwire::cli {

namespace {
struct InspectOptions {
  CommonOptions common;
  bool tensors = true;
};

int runInspect(const InspectOptions &o) {
  LoadedModels loaded;
  if (!loadModels(o.common, loaded))
    return loadFailureCode(loaded);
  nlohmann::json out = {{"input", o.common.input},
                        {"task", taskJson(loaded.spec.task)},
                        {"models", nlohmann::json::array()}};
  if (!o.common.json)
    printTaskLine(std::cout, loaded.spec.task);
  bool allRespect = true;
  for (const LoadedModel &m : loaded.models) {
    const SeparationCard card = separationCard(m.task, m.net);
    allRespect &= card.respectsBound;
    if (o.common.json) {
      nlohmann::json jt = nlohmann::json::array();
      for (const auto &t : listTensors(m.net))
        jt.push_back({{"name", t.name},
                      {"dtype", t.dtype},
                      {"shape", t.shape},
                      {"elements", t.elements()}});
      nlohmann::json blocks = nlohmann::json::array();
      for (const auto &b : m.net.blocks)
        blocks.push_back({{"name", b.name},
                          {"offset", b.offset},
                          {"width", b.width},
                          {"meaning", b.meaning}});
      out["models"].push_back({{"name", m.net.name},
                               {"card", separationCardJson(card)},
                               {"certificate", certificateJson(m.net)},
                               {"residual_blocks", blocks},
                               {"tensors", jt}});
      continue;
    }
    std::cout << "\n";
    printModelInspection(std::cout, m.net, card, o.tensors);
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
  // A model below its lower bound would be a broken construction or bound:
  // refused, like an uncertified one.
  return allRespect ? kExitOk : kExitRefused;
}
} // namespace

void setupInspect(CLI::App &app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App *cmd = app.add_subcommand(
      "inspect",
      "Show each model's tensors, sizes in bits, certificate, the lower bound "
      "that applies and a verdict");
  addCommonOptions(*cmd, opts->common);
  cmd->add_flag("!--no-tensors", opts->tensors, "omit the per-tensor table");
  cmd->callback([opts] {
    if (int rc = runInspect(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
