// The embedded table must be exactly the files of web/static/, served with the right types, reachable by
// nothing else, and self-contained (no external URL, nothing the service's CSP "default-src 'self'" blocks).
#include "web_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "web_assets_table.h"

namespace spectrum::web {
namespace {

namespace fs = std::filesystem;

const fs::path kStaticDir{SPECTRUM_WEB_STATIC_DIR};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::set<std::string> files_on_disk() {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(kStaticDir)) {
    if (!entry.is_regular_file()) continue;
    std::string path = "/";  // appended, not "/" + ...: GCC 12 warns falsely (-Wrestrict) on that form
    path += fs::relative(entry.path(), kStaticDir).generic_string();
    paths.insert(path);
  }
  return paths;
}

std::string asset_body(std::string_view path) {
  const auto asset = find_web_asset(path);
  return asset ? std::string(asset->body) : std::string();
}

TEST(WebAssets, RootServesIndexHtmlByteForByte) {
  const auto asset = find_web_asset("/");
  ASSERT_TRUE(asset.has_value());
  EXPECT_EQ(asset->content_type, "text/html; charset=utf-8");
  const std::string on_disk = read_file(kStaticDir / "index.html");
  ASSERT_GT(on_disk.size(), 1000u);
  EXPECT_EQ(asset->body, on_disk);
  EXPECT_EQ(find_web_asset("/index.html")->body.data(), asset->body.data());
}

TEST(WebAssets, TableHoldsExactlyTheStaticFiles) {
  std::set<std::string> embedded;
  for (const auto& file : internal::embedded_files()) embedded.insert(std::string(file.path));
  EXPECT_EQ(embedded, files_on_disk());
  for (const auto& path : files_on_disk()) {
    EXPECT_EQ(asset_body(path), read_file(kStaticDir / path.substr(1))) << path;
  }
}

TEST(WebAssets, ContentTypesFollowTheExtension) {
  EXPECT_EQ(find_web_asset("/style.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(find_web_asset("/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_web_asset("/favicon.svg")->content_type, "image/svg+xml");
}

TEST(WebAssets, UnknownAndHostilePathsAreNotFound) {
  for (const char* path : {"/nope.js", "/../CMakeLists.txt", "/web_assets.h", "/static/index.html", "index.html",
                           "//index.html", "/index.html/", "/./app.js", "/APP.JS", "/%2e%2e/web_assets.h"}) {
    EXPECT_FALSE(find_web_asset(path).has_value()) << path;
  }
}

TEST(WebAssets, QueryStringDoesNotChangeTheFile) {
  EXPECT_EQ(find_web_asset("/app.js?v=2")->body, find_web_asset("/app.js")->body);
  EXPECT_EQ(find_web_asset("/?token=x")->body, find_web_asset("/index.html")->body);
}

// Every src/href and every ES module import names an embedded file, so the page loads offline.
TEST(WebAssets, EveryReferenceResolvesToAnEmbeddedFile) {
  const std::regex html_ref(R"re((?:src|href)="(/[^"]*)")re");
  const std::string html = asset_body("/index.html");
  int html_refs = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), html_ref), end; it != end; ++it, ++html_refs) {
    EXPECT_TRUE(find_web_asset((*it)[1].str()).has_value()) << (*it)[1].str();
  }
  EXPECT_GE(html_refs, 3);  // favicon, stylesheet, script

  const std::regex import_ref(R"re(from '\./([^']+)')re");
  int imports = 0;
  for (const auto& file : internal::embedded_files()) {
    if (!file.path.ends_with(".js")) continue;
    const std::string js(file.body);
    for (std::sregex_iterator it(js.begin(), js.end(), import_ref), end; it != end; ++it, ++imports) {
      std::string path = "/";
      path += (*it)[1].str();
      EXPECT_TRUE(find_web_asset(path).has_value()) << file.path << " imports " << path;
    }
  }
  EXPECT_GE(imports, 5);
}

// No CDN, font service or analytics: the only absolute URLs allowed are XML namespace names, which are
// identifiers and never fetched.
TEST(WebAssets, NoExternalUrls) {
  for (const auto& file : internal::embedded_files()) {
    std::string body = std::regex_replace(std::string(file.body), std::regex(R"(http://www\.w3\.org/\d{4}/svg)"), "");
    EXPECT_EQ(body.find("http://"), std::string::npos) << file.path;
    EXPECT_EQ(body.find("https://"), std::string::npos) << file.path;
    EXPECT_EQ(body.find("//cdn"), std::string::npos) << file.path;
  }
}

// The service sends Content-Security-Policy: default-src 'self', which blocks inline scripts, inline event
// handlers and style attributes; the page must not depend on any of them.
TEST(WebAssets, IndexHtmlNeedsNoInlineCode) {
  const std::string html = asset_body("/index.html");
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(<script(?![^>]*\bsrc=)[^>]*>)"))) << "inline <script>";
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)"))) << "inline event handler";
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)"))) << "style attribute";
}

}  // namespace
}  // namespace spectrum::web
