// The console's routing at the edge: a CloudFront Function (cloudfront-js-2.0) on the viewer requests of
// the distribution's default behaviour, the console's bucket. The API's paths have behaviours of their
// own and never reach it, so their answers (a 404 included) pass through untouched; that is why this is
// not an S3 403-to-index.html error mapping, which would rewrite the API's errors too.
//
// The same rules as the local runtime's (devtools/nudge_tools/local/static.py):
// - "/console" redirects to "/console/", and so does "/", the distribution's own root;
// - under /console/, a path whose last segment has no extension is a client-side route
//   (/console/people/123): the bucket's /console/index.html answers it; a file (/console/assets/x.js) is
//   looked up as it is.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === "/" || uri === "/console") {
    return {
      statusCode: 302,
      statusDescription: "Found",
      headers: { location: { value: "/console/" } },
    };
  }
  if (uri.indexOf("/console/") === 0) {
    var last = uri.substring(uri.lastIndexOf("/") + 1);
    if (last.indexOf(".") === -1) {
      request.uri = "/console/index.html";
    }
  }
  return request;
}
