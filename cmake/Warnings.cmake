# Project-wide warnings. Third-party headers come in as SYSTEM includes, so these apply to our code only.
add_library(spectrum_warnings INTERFACE)
target_compile_options(spectrum_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string at -O3 (GCC bug 105329).
  -Wno-restrict
  $<$<BOOL:${SPECTRUM_WERROR}>:-Werror>)
