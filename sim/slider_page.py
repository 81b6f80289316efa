"""The punish page a risk-controlled client is sent to: Alibaba's classic "nocaptcha" slider, in vanilla JS.

The DOM ids and classes are the ones slider solvers look for (goofish-protocol.md §6): `.nc-container` >
`#nc_1_wrapper` > `#nc_1__bg` + `#nc_1_n1t.nc_scale` > `span#nc_1_n1z.nc_iconfont.btn_slide`, and
`#nc_1__scale_text > span.nc-lang-cnt`. Dragging the button to the end of the 300 px track POSTs the recorded
mouse trajectory to `/_____tmd_____/slide`; the server decides. Success hides `.nc-container`, shows
`<b>验证通过</b>` and changes the title (some solvers wait for the title to stop being 验证码拦截). Failure shows
`验证失败，点击框体重试` in `#nc_1_refresh1.errloading`; clicking it resets the slider.
"""

from __future__ import annotations

TRACK_WIDTH = 300
BUTTON_WIDTH = 40

# %-formatted (CSS braces stay literal); "%%" is a percent sign.
PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>验证码拦截</title>
<style>
body { margin: 0; background: #f4f4f4; font: 14px/1.5 "PingFang SC", "Microsoft YaHei", sans-serif; color: #333; }
.box { width: 340px; margin: 90px auto 0; padding: 24px 20px; background: #fff; border-radius: 8px;
       box-shadow: 0 2px 12px rgba(0, 0, 0, .08); }
.box h1 { margin: 0 0 6px; font-size: 18px; }
.box p { margin: 0 0 18px; color: #999; font-size: 13px; }
.nc-container { width: %(track)dpx; user-select: none; }
#nc_1_wrapper { position: relative; width: %(track)dpx; height: 34px; }
#nc_1__bg { position: absolute; left: 0; top: 0; width: 0; height: 34px; background: #7ac23c; }
#nc_1_n1t { position: relative; width: %(track)dpx; height: 34px; background: #e8e8e8; }
#nc_1_n1z { position: absolute; left: 0; top: 0; z-index: 2; width: %(button)dpx; height: 34px;
            border: 1px solid #ccc; background: #fff; cursor: move; text-align: center; line-height: 32px;
            color: #888; box-sizing: border-box; }
#nc_1__scale_text { position: absolute; left: 0; top: 0; width: 100%%; height: 34px; line-height: 34px;
                    text-align: center; color: #9c9c9c; pointer-events: none; }
#nc_1_refresh1 { display: none; position: absolute; left: 0; top: 0; z-index: 3; width: 100%%; height: 34px;
                 line-height: 34px; text-align: center; background: #fff2f2; color: #e64340; cursor: pointer; }
#nc_1_refresh1 a { color: #1a73e8; }
#nc_result { margin-top: 10px; color: #4caf50; }
</style>
</head>
<body>
<div class="box">
  <h1>亲，请拖动下方滑块完成验证</h1>
  <p>访问过于频繁，需要验证一下是不是本人操作</p>
  <div id="nocaptcha" class="nc-container">
    <div id="nc_1_wrapper" class="nc_wrapper">
      <div id="nc_1__bg" class="nc_bg"></div>
      <div id="nc_1_n1t" class="nc_scale">
        <span id="nc_1_n1z" class="nc_iconfont btn_slide">&gt;&gt;</span>
      </div>
      <div id="nc_1__scale_text" class="scale_text slidetounlock"><span class="nc-lang-cnt">请按住滑块，拖动到最右边</span></div>
      <div id="nc_1_refresh1" class="errloading"><span class="nc-lang-cnt">验证失败，点击框体<a href="javascript:;">重试</a></span></div>
    </div>
  </div>
  <div id="nc_result"></div>
</div>
<script>
(function () {
  var button = document.getElementById("nc_1_n1z");
  var track = document.getElementById("nc_1_n1t");
  var fill = document.getElementById("nc_1__bg");
  var hint = document.querySelector("#nc_1__scale_text .nc-lang-cnt");
  var retry = document.getElementById("nc_1_refresh1");
  var params = new URLSearchParams(window.location.search);
  // The track's length is measured when a drag starts (as nocaptcha does), not when the script runs: a frame
  // laid out before its viewport settled would otherwise clamp every drag short of the end.
  var end = 0;
  var dragging = false, busy = false, startX = 0, startY = 0, t0 = 0, points = [];

  function place(x) {
    button.style.left = x + "px";
    fill.style.width = (x + button.offsetWidth / 2) + "px";
  }
  function reset() {
    busy = false;
    points = [];
    place(0);
    retry.style.display = "none";
    hint.textContent = "请按住滑块，拖动到最右边";
  }
  function passed() {
    document.querySelector(".nc-container").style.display = "none";
    document.getElementById("nc_result").innerHTML = "<b>验证通过</b>";
    document.title = "验证通过";
  }
  function failed() {
    retry.style.display = "block";
  }
  function submit() {
    busy = true;
    hint.textContent = "验证中...";
    fetch("/_____tmd_____/slide", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({x5secdata: params.get("x5secdata") || "", trajectory: points, track: end})
    }).then(function (response) {
      return response.json().then(function (answer) { (response.ok && answer.success) ? passed() : failed(); });
    }).catch(failed);
  }
  button.addEventListener("mousedown", function (event) {
    if (busy) { return; }
    dragging = true;
    end = track.clientWidth - button.offsetWidth;
    startX = event.clientX;
    startY = event.clientY;
    t0 = Date.now();
    points = [{x: 0, y: 0, t: 0}];
    event.preventDefault();
  });
  document.addEventListener("mousemove", function (event) {
    if (!dragging) { return; }
    var x = Math.max(0, Math.min(end, event.clientX - startX));
    place(x);
    points.push({x: x, y: event.clientY - startY, t: Date.now() - t0});
  });
  document.addEventListener("mouseup", function () {
    if (!dragging) { return; }
    dragging = false;
    if ((parseFloat(button.style.left) || 0) >= end - 1) { submit(); } else { reset(); }
  });
  retry.addEventListener("click", reset);
})();
</script>
</body>
</html>
"""

HTML = PAGE % {"track": TRACK_WIDTH, "button": BUTTON_WIDTH}
