// Go runner: the vectors through the plain core module with wazero (pure Go, no cgo).
// Run: cd tests/runners/go && go test ./...
package runners

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

type recipe struct {
	Prefix string `json:"prefix"`
	Repeat string `json:"repeat"`
	Times  int    `json:"times"`
	Suffix string `json:"suffix"`
}

type vectorCase struct {
	Name       string  `json:"name"`
	Req        *string `json:"req"`
	ReqB64     *string `json:"req_b64"`
	ReqRecipe  *recipe `json:"req_recipe"`
	Want       *string `json:"want"`
	WantSHA256 string  `json:"want_sha256"`
	WantLen    int     `json:"want_len"`
}

type vectorFile struct {
	Count int          `json:"count"`
	Cases []vectorCase `json:"cases"`
}

func (c *vectorCase) request() ([]byte, error) {
	switch {
	case c.Req != nil:
		return []byte(*c.Req), nil
	case c.ReqB64 != nil:
		return base64.StdEncoding.DecodeString(*c.ReqB64)
	case c.ReqRecipe != nil:
		r := c.ReqRecipe
		return append(append([]byte(r.Prefix), bytes.Repeat([]byte(r.Repeat), r.Times)...), r.Suffix...), nil
	}
	return nil, fmt.Errorf("case %s has no request", c.Name)
}

func (c *vectorCase) mismatch(got []byte) string {
	if c.Want != nil {
		if bytes.Equal(got, []byte(*c.Want)) {
			return ""
		}
		return fmt.Sprintf("case %s:\n  want %s\n  got  %s", c.Name, *c.Want, got)
	}
	sum := sha256.Sum256(got)
	if hex.EncodeToString(sum[:]) == c.WantSHA256 && len(got) == c.WantLen {
		return ""
	}
	return fmt.Sprintf("case %s: want sha256 %s, got %x (%d bytes)", c.Name, c.WantSHA256, sum, len(got))
}

// core drives the plain module's ABI (core/abi/README.md): call with alloc/process/dealloc
// (version 1), callBuffered with the module's buffers (version 2).
type core struct {
	mod                          api.Module
	alloc, dealloc, process      api.Function
	requestBuffer, processBuffer api.Function
	buffer, cap                  uint32
}

func (c *core) call(ctx context.Context, req []byte) ([]byte, error) {
	n := uint64(len(req))
	r, err := c.alloc.Call(ctx, n)
	if err != nil {
		return nil, err
	}
	ptr := uint32(r[0])
	if ptr == 0 && n > 0 {
		return nil, fmt.Errorf("alloc(%d) failed", n)
	}
	if !c.mod.Memory().Write(ptr, req) {
		return nil, fmt.Errorf("write out of range")
	}
	r, err = c.process.Call(ctx, uint64(ptr), n)
	if err != nil {
		return nil, err
	}
	if _, err := c.dealloc.Call(ctx, uint64(ptr), n); err != nil {
		return nil, err
	}
	outPtr, outLen := uint32(r[0]>>32), uint32(r[0])
	view, ok := c.mod.Memory().Read(outPtr, outLen)
	if !ok {
		return nil, fmt.Errorf("result out of range")
	}
	out := bytes.Clone(view)
	_, err = c.dealloc.Call(ctx, uint64(outPtr), uint64(outLen))
	return out, err
}

func (c *core) callBuffered(ctx context.Context, req []byte) ([]byte, error) {
	n := uint32(len(req))
	if c.buffer == 0 || n > c.cap {
		c.cap = max(n, 64*1024)
		r, err := c.requestBuffer.Call(ctx, uint64(c.cap))
		if err != nil {
			return nil, err
		}
		c.buffer = uint32(r[0])
		if c.buffer == 0 {
			return nil, fmt.Errorf("request_buffer(%d) failed", c.cap)
		}
	}
	if !c.mod.Memory().Write(c.buffer, req) {
		return nil, fmt.Errorf("write out of range")
	}
	r, err := c.processBuffer.Call(ctx, uint64(n))
	if err != nil {
		return nil, err
	}
	view, ok := c.mod.Memory().Read(uint32(r[0]>>32), uint32(r[0]))
	if !ok {
		return nil, fmt.Errorf("result out of range")
	}
	return bytes.Clone(view), nil // the module's buffer, until the next call
}

func TestVectors(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	modPath := os.Getenv("SENTIMAP_WASM_MODULE")
	if modPath == "" {
		modPath = filepath.Join(root, "target/wasm/sentimap_core_abi.wasm")
	}
	wasm, err := os.ReadFile(modPath)
	if err != nil {
		t.Fatalf("%v (build it first: scripts/build-wasm)", err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "tests/vectors/vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Cases) != vf.Count || vf.Count < 500 {
		t.Fatalf("vector file holds %d cases, says %d", len(vf.Cases), vf.Count)
	}

	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	v, err := mod.ExportedFunction("abi_version").Call(ctx)
	if err != nil || v[0] != 3 {
		t.Fatalf("abi_version: %v %v", v, err)
	}
	c := &core{
		mod: mod, alloc: mod.ExportedFunction("alloc"), dealloc: mod.ExportedFunction("dealloc"),
		process: mod.ExportedFunction("process"), requestBuffer: mod.ExportedFunction("request_buffer"),
		processBuffer: mod.ExportedFunction("process_buffer"),
	}
	failed := 0
	for i := range vf.Cases {
		vc := &vf.Cases[i]
		req, err := vc.request()
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.call(ctx, req)
		if err != nil {
			t.Fatalf("case %s: %v", vc.Name, err)
		}
		if m := vc.mismatch(got); m != "" {
			failed++
			t.Error(m)
		}
		got, err = c.callBuffered(ctx, req)
		if err != nil {
			t.Fatalf("case %s (module buffers): %v", vc.Name, err)
		}
		if m := vc.mismatch(got); m != "" {
			failed++
			t.Error("(module buffers) " + m)
		}
	}
	t.Logf("go (wazero): %d/%d calls match (each vector through alloc/process and the module's buffers)", 2*len(vf.Cases)-failed, 2*len(vf.Cases))
}
