// Plotly's cartesian bundle (scatter, bar, box, heatmap), from web/report/node_modules as pinned by
// web/report/package-lock.json, linked in with the assembler's .incbin: 1.5 MB that a C++ string
// literal would make slow to compile. RLFORGE_PLOTLY_VERSION is part of the compile command, so
// ccache rebuilds this object when the bundle's version changes.
#include <string_view>

#define RLFORGE_QUOTE(x) #x
#define RLFORGE_STRING(x) RLFORGE_QUOTE(x)

__asm__(
    ".section .rodata\n"
    ".hidden rlforge_plotly_js_begin\n"
    ".hidden rlforge_plotly_js_end\n"
    "rlforge_plotly_js_begin:\n"
    ".incbin \"" RLFORGE_PLOTLY_JS
    "\"\n"
    "rlforge_plotly_js_end:\n"
    ".byte 0\n"
    ".previous\n");

extern "C" const char rlforge_plotly_js_begin[], rlforge_plotly_js_end[];

namespace rlforge::train {

std::string_view PlotlyJs() {
  return {rlforge_plotly_js_begin,
          static_cast<size_t>(rlforge_plotly_js_end - rlforge_plotly_js_begin)};
}

const char* PlotlyVersion() { return RLFORGE_STRING(RLFORGE_PLOTLY_VERSION); }

}  // namespace rlforge::train
